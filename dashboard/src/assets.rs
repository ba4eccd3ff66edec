//! The console's page, script and style, embedded in the binary.

/// One embedded file.
#[derive(Debug)]
pub(crate) struct Asset {
    pub(crate) content_type: &'static str,
    pub(crate) body: &'static [u8],
}

const INDEX: Asset = Asset {
    content_type: "text/html; charset=utf-8",
    body: include_bytes!("assets/index.html"),
};
const SCRIPT: Asset = Asset {
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("assets/app.js"),
};
const STYLE: Asset = Asset {
    content_type: "text/css; charset=utf-8",
    body: include_bytes!("assets/app.css"),
};
const ICON: Asset = Asset {
    content_type: "image/svg+xml",
    body: include_bytes!("assets/favicon.svg"),
};

/// The asset served at `path`.
pub(crate) fn find(path: &str) -> Option<&'static Asset> {
    match path {
        "/" | "/index.html" => Some(&INDEX),
        "/app.js" => Some(&SCRIPT),
        "/app.css" => Some(&STYLE),
        "/favicon.svg" | "/favicon.ico" => Some(&ICON),
        _ => None,
    }
}
