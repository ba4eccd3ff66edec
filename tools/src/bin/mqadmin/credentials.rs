//! Whom `mqadmin` signs its requests as (ACL): `--accessKey` / `--secretKey` when given, else
//! `accessKey` / `secretKey` of `$ROCKETMQ_HOME/conf/tools.yml`, the file Apache's `mqadmin`
//! reads (`AclUtils.getAclRPCHook`). Without either, requests go unsigned, as Apache's do
//! when the file is missing or a key is blank.

use std::path::{Path, PathBuf};

use ferromq_client::Credentials;

use crate::common::{Failure, Namesrv};

/// `$ROCKETMQ_HOME/conf/tools.yml`, when `ROCKETMQ_HOME` is set.
fn tools_file() -> Option<PathBuf> {
    let home = std::env::var_os("ROCKETMQ_HOME")?;
    Some(Path::new(&home).join("conf").join("tools.yml"))
}

/// A YAML scalar as Java's `JSONObject.getString` gives it (`secretKey: 12345678` is a
/// number in YAML, a string to Apache).
fn scalar(value: Option<&serde_yaml_ng::Value>) -> Option<String> {
    use serde_yaml_ng::Value;
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The credentials in a `tools.yml` text; `None` when a key is missing or blank.
pub(crate) fn parse_tools_yml(text: &str) -> Result<Option<Credentials>, String> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    let access = scalar(doc.get("accessKey"));
    let secret = scalar(doc.get("secretKey"));
    Ok(match (access, secret) {
        (Some(a), Some(s)) if !a.trim().is_empty() && !s.trim().is_empty() => {
            Some(Credentials::new(a, s))
        }
        _ => None,
    })
}

/// The credentials for `ns`'s flags or `tools.yml` (see the module docs). A `tools.yml` that
/// exists but cannot be read or parsed is an error, not a silent unsigned run.
pub(crate) fn credentials(ns: &Namesrv) -> Result<Option<Credentials>, Failure> {
    if let (Some(a), Some(s)) = (&ns.access_key, &ns.secret_key) {
        return Ok(Some(Credentials::new(a.trim(), s.trim())));
    }
    let Some(path) = tools_file() else {
        return Ok(None);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::usage(
                "credentials",
                format!("cannot read {}: {e}", path.display()),
            ))
        }
    };
    parse_tools_yml(&text)
        .map_err(|e| Failure::usage("credentials", format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_yml_as_apache_ships_it() {
        let c = parse_tools_yml("# comment\naccessKey: rocketmq2\nsecretKey: 12345678\n")
            .expect("parses")
            .expect("credentials");
        assert_eq!(c.access_key, "rocketmq2");
        assert_eq!(c.secret_key, "12345678");
        let c = parse_tools_yml("accessKey: \"a b\"\nsecretKey: 's'\n")
            .expect("parses")
            .expect("credentials");
        assert_eq!((c.access_key.as_str(), c.secret_key.as_str()), ("a b", "s"));
    }

    #[test]
    fn a_blank_or_missing_key_means_unsigned() {
        assert!(parse_tools_yml("accessKey: a\n").expect("parses").is_none());
        assert!(parse_tools_yml("accessKey: a\nsecretKey: ''\n")
            .expect("parses")
            .is_none());
        assert!(parse_tools_yml("").expect("parses").is_none());
        assert!(parse_tools_yml("accessKey: [\n").is_err());
    }
}
