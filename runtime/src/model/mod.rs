//! What the rest of the runtime talks about: metric kinds and their declarations, the naming
//! rules, the label and error-type traits, and the snapshots a scrape reads. Nothing here
//! depends on another module of the crate.

pub(crate) mod buckets;
pub(crate) mod descriptor;
pub(crate) mod kind;
pub(crate) mod labels;
pub(crate) mod names;
pub(crate) mod objective;
pub(crate) mod outcome;
pub(crate) mod snapshot;
