//! `install()`: every check first, then the endpoint, the `metrics` recorder and the settings,
//! in an order where a failure leaves nothing running and nothing set.

pub(crate) mod builder;
pub(crate) mod checks;
mod threads;

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::error::Error;
use crate::install::builder::{Exporter, ExporterBuilder};
use crate::install::checks::Owned;
use crate::model::descriptor::{Descriptor, SiteInfo};
use crate::state::{self, Settings};
use crate::storage::call_site::{CALL_SITES, CallSite};
use crate::storage::declared::FAMILIES;
use crate::storage::exemplars;
use crate::storage::facade::{Facade, FacadeRecorder};
use crate::storage::native::NativeLayout;

static INSTALLING: Mutex<()> = Mutex::new(());

pub(crate) fn install(builder: ExporterBuilder) -> Result<Exporter, Error> {
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(PoisonError::into_inner);
    if state::settings().is_some() {
        return Err(Error::AlreadyInstalled);
    }
    let parts = builder.parts();
    if parts.max_series == 0 {
        return Err(Error::setting(
            "max_series",
            "`max_series` must be at least 1",
        ));
    }
    checks::global_labels(&parts.global_labels)?;
    checks::bucket_layout(|| "default buckets".to_owned(), &parts.default_buckets)?;
    checks::bucket_layout(|| "function buckets".to_owned(), &parts.function_buckets)?;
    if !(parts.native.factor > 1.0 && parts.native.factor.is_finite()) {
        return Err(Error::setting(
            "native_histograms",
            format!(
                "the native histogram factor must be a finite number above 1 (1.1 gives buckets \
                 9% wide), not {}",
                parts.native.factor
            ),
        ));
    }
    if parts.native.max_buckets == 0 {
        return Err(Error::setting(
            "native_histogram_max_buckets",
            "a native histogram needs at least 1 bucket",
        ));
    }
    if parts.render_timeout.is_zero() {
        return Err(Error::setting(
            "render_timeout",
            "the render timeout must be longer than zero",
        ));
    }
    #[cfg(any(feature = "http", feature = "axum"))]
    if let Some(page) = &parts.live_page {
        crate::live::check_path(page)?;
    }

    let infos: Vec<&'static SiteInfo> = CALL_SITES.iter().map(CallSite::info).collect();
    // The axum layer's families, unless a layer is in use already, are checked when one is.
    let descriptors: Vec<&'static Descriptor> = FAMILIES
        .iter()
        .map(|family| family.descriptor())
        .filter(|descriptor| crate::self_metrics::served(descriptor.name))
        .collect();
    checks::sites(&infos, &parts.global_labels, parts.in_flight)?;
    let mut owned = checks::site_families(&infos);
    #[cfg(feature = "process")]
    if parts.process_metrics {
        owned.extend(crate::process::FAMILIES.iter().map(|(name, kind)| Owned {
            name,
            kind: *kind,
            owner: "the process metrics (`ExporterBuilder::process_metrics`)".to_owned(),
        }));
    }
    owned.extend(
        crate::scrape::OWN_FAMILIES
            .iter()
            .map(|(name, kind)| Owned {
                name,
                kind: *kind,
                owner: "track_metrics itself".to_owned(),
            }),
    );
    owned.extend(checks::declared_families(
        &descriptors,
        &parts.global_labels,
    )?);
    #[cfg(feature = "otlp")]
    let otlp = match parts.otlp.clone() {
        Some(builder::OtlpSource::Given(otlp)) => Some(*otlp),
        Some(builder::OtlpSource::Environment) => crate::otlp::Otlp::from_env()?,
        None => None,
    }
    .map(crate::otlp::worker::prepare)
    .transpose()?;
    #[cfg(feature = "otlp")]
    if otlp.is_some() {
        owned.extend(
            crate::otlp::stats::FAMILIES
                .iter()
                .map(|(name, kind)| Owned {
                    name,
                    kind: *kind,
                    owner: "track_metrics' OTLP export".to_owned(),
                }),
        );
    }
    let reserved = checks::distinct_series_names(&owned)?;
    let family_buckets = checks::family_buckets(&parts.metric_buckets, &descriptors, &infos)?;

    // Kept for the rest of the process once installed; a few bytes lost on a failed install.
    let settings: &'static Settings = Box::leak(Box::new(Settings {
        global_labels: parts.global_labels.clone(),
        default_buckets: parts.default_buckets.clone().leak(),
        function_buckets: parts.function_buckets.clone().leak(),
        family_buckets: family_buckets
            .into_iter()
            .map(|(name, bounds)| (name, &*bounds.leak()))
            .collect::<HashMap<_, _>>(),
        max_series: parts.max_series,
        in_flight: parts.in_flight,
        process_metrics: parts.process_metrics,
        render_timeout: parts.render_timeout,
        native_layout: NativeLayout::new(parts.native.factor, parts.native.max_buckets),
        native_everywhere: parts.native.everywhere,
        facade_summaries: parts.facade_summaries,
        created_lines: parts.created_lines,
        facade_counter_suffix: parts.facade_counter_suffix,
        installed_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64()),
    }));
    crate::slo::rules::check(&infos, |site| {
        if site.buckets.is_empty() {
            settings.function_buckets_of(site.duration)
        } else {
            site.buckets
        }
    })?;
    let layout_of = |descriptor: &Descriptor| {
        if descriptor.buckets.is_empty() {
            settings.buckets_of(descriptor.name).to_vec()
        } else {
            descriptor.buckets.to_vec()
        }
    };
    let in_use = || {
        FAMILIES
            .iter()
            .filter_map(|family| Some((family.descriptor(), family.layout_in_use()?)))
            .collect::<Vec<_>>()
    };
    checks::layouts_in_use(&in_use(), |name| {
        let descriptor = descriptors
            .iter()
            .find(|descriptor| descriptor.name == name);
        descriptor.map_or_else(Vec::new, |descriptor| layout_of(descriptor))
    })?;
    // Calibrated here, so that no call pays for it.
    let _ = crate::storage::clock::clock();

    #[cfg(feature = "http")]
    let (started, local_addr) = match builder.resolved_address() {
        Some((address, origin)) => {
            let listener = crate::serve::Listener::bind(&address, origin, &parts.endpoint)?;
            let local_addr = listener.local_addr;
            let server = listener.server()?;
            (
                threads::Started::thread("track-metrics-http", server)?,
                Some(local_addr),
            )
        }
        None => (threads::Started::default(), None),
    };
    #[cfg(not(feature = "http"))]
    let (started, local_addr) = (threads::Started::default(), None);
    #[cfg(feature = "otlp")]
    let otlp = match otlp {
        Some(prepared) => {
            let (work, published) = prepared.work(settings);
            Some((
                threads::Started::thread("track-metrics-otlp", work)?,
                published,
            ))
        }
        None => None,
    };

    let facade = Facade::new(settings, reserved);
    if parts.global_recorder && metrics::set_global_recorder(FacadeRecorder(facade)).is_err() {
        return Err(Error::RecorderAlreadySet);
    }
    // From here on nothing fails: the process is installed.
    Facade::publish(facade);
    #[cfg(any(feature = "http", feature = "axum"))]
    if parts.live_page.is_some() {
        // The readings start now; a thread that cannot start leaves the page empty.
        if let Err(error) = crate::live::ring::start() {
            log::warn!("the live page's sampler did not start: {error}");
        }
    }
    if let Some(source) = parts.exemplar_source {
        exemplars::set_source(source);
    }
    state::set(settings);
    for site in CALL_SITES.iter() {
        // Registering allocates: a call that an allocator makes meanwhile records nothing.
        let _ = crate::storage::reentry::guarded(|| site.register(settings));
    }
    for (descriptor, layout) in in_use() {
        // Only a first use racing with this `install()` can get here.
        if layout != layout_of(descriptor) {
            log::warn!(
                "{} was first used while `install()` ran, and keeps the buckets {layout:?}",
                descriptor.describe()
            );
        }
    }
    started.run();
    #[cfg(feature = "otlp")]
    if let Some((started, published)) = otlp {
        published.publish();
        started.run();
    }
    Ok(Exporter::new(local_addr, parts.path))
}
