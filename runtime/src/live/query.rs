//! The live page's query string: `module`, `sort`, `order`, `fragment`.

/// What the page was asked for.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Query {
    pub(crate) module: String,
    pub(crate) sort: String,
    pub(crate) order: String,
    /// Only the tables, for the script to swap in.
    pub(crate) fragment: bool,
}

impl Query {
    /// Parses `a=b&c=d`, percent-decoded; unknown keys and undecodable values are ignored.
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let mut parsed = Query::default();
        for pair in query.unwrap_or_default().split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let Some(value) = decode(value) else {
                continue;
            };
            match key {
                "module" => parsed.module = value,
                "sort" => parsed.sort = value,
                "order" => parsed.order = value,
                "fragment" => parsed.fragment = value == "1",
                _ => {}
            }
        }
        parsed
    }
}

fn decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut input = text.bytes();
    while let Some(byte) = input.next() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let high = (input.next()? as char).to_digit(16)?;
                let low = (input.next()? as char).to_digit(16)?;
                bytes.push(u8::try_from(high * 16 + low).ok()?);
            }
            byte => bytes.push(byte),
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        let query = Query::parse(Some(
            "module=a%3A%3Ab+c&sort=p99&order=asc&fragment=1&x=%ZZ",
        ));
        assert_eq!(query.module, "a::b c");
        assert_eq!((query.sort.as_str(), query.order.as_str()), ("p99", "asc"));
        assert!(query.fragment);
        assert_eq!(Query::parse(None), Query::default());
        assert_eq!(Query::parse(Some("module=%FF")).module, "");
    }
}
