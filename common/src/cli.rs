//! The command line shared by the name server and the controller: Apache's `-c <file>`
//! (`--configFile`), `-p` (`--printConfigItem`) and `-h` (`--help`).

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
}
