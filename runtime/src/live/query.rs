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
    /// Parses `a=b&c=d` as browsers do (`URLSearchParams.get`): percent-decoded, a `%` not
    /// followed by two hex digits kept as it is, bytes that are not UTF-8 replaced, the first
    /// value of a repeated key. The page's script sends back what the browser read, so the
    /// server must read the same; unknown keys are ignored.
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let mut values: [Option<String>; 4] = Default::default();
        for pair in query.unwrap_or_default().split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match decode(key).as_str() {
                "module" => 0,
                "sort" => 1,
                "order" => 2,
                "fragment" => 3,
                _ => continue,
            };
            values[slot].get_or_insert_with(|| decode(value));
        }
        let [module, sort, order, fragment] = values.map(Option::unwrap_or_default);
        Query {
            module,
            sort,
            order,
            fragment: fragment == "1",
        }
    }
}

/// `application/x-www-form-urlencoded` decoding, as the WHATWG URL standard gives it.
fn decode(text: &str) -> String {
    let hex = |byte: Option<&u8>| byte.and_then(|byte| (*byte as char).to_digit(16));
    let input = text.as_bytes();
    let mut bytes = Vec::with_capacity(input.len());
    let mut index = 0;
    while index < input.len() {
        match input[index] {
            b'+' => bytes.push(b' '),
            b'%' => match (hex(input.get(index + 1)), hex(input.get(index + 2))) {
                (Some(high), Some(low)) => {
                    bytes.push(u8::try_from(high * 16 + low).unwrap_or_default());
                    index += 2;
                }
                _ => bytes.push(b'%'),
            },
            byte => bytes.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&bytes).into_owned()
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
        // As `new URLSearchParams("module=..").get("module")` reads them.
        assert_eq!(Query::parse(Some("module=%FF")).module, "\u{fffd}");
        assert_eq!(Query::parse(Some("module=%ZZ%4")).module, "%ZZ%4");
        assert_eq!(Query::parse(Some("m%6Fdule=x")).module, "x");
        let repeated = Query::parse(Some("module=a&module=b&fragment=1&fragment=0"));
        assert_eq!((repeated.module.as_str(), repeated.fragment), ("a", true));
    }
}
