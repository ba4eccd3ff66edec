//! The command line shared by the name server and the controller: Apache's `-c <file>`
//! (`--configFile`), `-p` (`--printConfigItem`) and `-h` (`--help`), and the loading of the
//! `-c` file ([`load_config`]).

use crate::settings::LoadReport;

/// What a server's command line asked for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ServerArgs {
    /// `-c <file>`: the properties file to read.
    pub config_file: Option<String>,
    /// `-p`: print every config item and exit.
    pub print_config: bool,
}

impl ServerArgs {
    /// Parses `args` (without the program name). `Ok(None)` when help was asked for; an error
    /// names the argument it could not take.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<ServerArgs>, String> {
        let mut parsed = ServerArgs::default();
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "-h" | "--help" => return Ok(None),
                "-p" | "--printConfigItem" => parsed.print_config = true,
                "-c" | "--configFile" => {
                    parsed.config_file = Some(it.next().ok_or("-c needs a file name")?);
                }
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        Ok(Some(parsed))
    }
}

/// A server's settings from its `-c` file (the defaults without one).
#[derive(Debug)]
pub struct LoadedConfig<C> {
    /// The settings.
    pub config: C,
    /// The file's text (empty without a file): other settings may live in the same file.
    pub text: String,
    /// Keys the settings did not know.
    pub unknown_keys: Vec<String>,
    path: Option<String>,
}

impl<C> LoadedConfig<C> {
    /// One `unknown config key ignored: <key> (in <file>)` line per unknown key, except the
    /// keys `expected` accepts (those of another component configured by the same file).
    pub fn warnings(&self, expected: impl Fn(&str) -> bool) -> Vec<String> {
        let path = self.path.as_deref().unwrap_or("-");
        self.unknown_keys
            .iter()
            .filter(|k| !expected(k.trim()))
            .map(|k| format!("unknown config key ignored: {k} (in {path})"))
            .collect()
    }
}

/// Reads `path` (when given) and parses it with `parse` (a settings type's `from_properties`).
/// The error names the file: `cannot read config file <path>: <why>` or `<path>: <why>`.
pub fn load_config<C: Default, E: std::fmt::Display>(
    path: Option<&str>,
    parse: impl FnOnce(&str) -> Result<(C, LoadReport), E>,
) -> Result<LoadedConfig<C>, String> {
    let Some(path) = path else {
        return Ok(LoadedConfig {
            config: C::default(),
            text: String::new(),
            unknown_keys: Vec::new(),
            path: None,
        });
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config file {path}: {e}"))?;
    let (config, report) = parse(&text).map_err(|e| format!("{path}: {e}"))?;
    Ok(LoadedConfig {
        config,
        text,
        unknown_keys: report.unknown_keys,
        path: Some(path.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<ServerArgs>, String> {
        ServerArgs::parse(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn takes_apache_flags_short_and_long() {
        let expected = ServerArgs {
            config_file: Some("ns.conf".into()),
            print_config: true,
        };
        assert_eq!(parse(&["-c", "ns.conf", "-p"]), Ok(Some(expected)));
        let long = parse(&["--configFile", "ns.conf", "--printConfigItem"]);
        assert!(matches!(long, Ok(Some(a)) if a.config_file.as_deref() == Some("ns.conf")));
        assert_eq!(parse(&[]), Ok(Some(ServerArgs::default())));
        assert_eq!(parse(&["-p", "--help"]), Ok(None));
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        assert_eq!(parse(&["-c"]), Err("-c needs a file name".into()));
        assert_eq!(parse(&["-x"]), Err("unknown argument `-x`".into()));
    }

    fn parse_numbers(text: &str) -> Result<(Vec<i32>, LoadReport), String> {
        let mut report = LoadReport::default();
        let mut out = Vec::new();
        for line in text.lines() {
            match line.parse() {
                Ok(n) => out.push(n),
                Err(_) if line.starts_with('k') => report.unknown_keys.push(line.to_owned()),
                Err(_) => return Err(format!("bad line {line:?}")),
            }
        }
        Ok((out, report))
    }

    #[test]
    fn load_config_reads_parses_and_names_the_file() {
        let none = load_config(None, parse_numbers).expect("defaults");
        assert!(none.config.is_empty() && none.text.is_empty());

        let dir = std::env::temp_dir().join(format!("ferromq-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("c.properties");
        let path = file.to_str().expect("utf-8 path");
        std::fs::write(&file, "1\nkx\nky\n2").expect("write");
        let loaded = load_config(Some(path), parse_numbers).expect("loads");
        assert_eq!(loaded.config, [1, 2]);
        assert_eq!(loaded.text, "1\nkx\nky\n2");
        assert_eq!(
            loaded.warnings(|k| k == "ky"),
            [format!("unknown config key ignored: kx (in {path})")]
        );

        std::fs::write(&file, "1\nz").expect("write");
        let bad = load_config(Some(path), parse_numbers).expect_err("bad line");
        assert_eq!(bad, format!("{path}: bad line \"z\""));
        let missing = dir.join("missing.properties");
        let missing = load_config(missing.to_str(), parse_numbers).expect_err("missing");
        assert!(missing.starts_with("cannot read config file "), "{missing}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
