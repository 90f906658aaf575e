//! `fila serve --config FILE`: a TOML file of settings.
//!
//! Every flag of `fila serve` is a key, found by asking clap for the command's arguments (a new
//! flag gets its key without a line here): its long name (`trusted-proxy`), or the same with
//! underscores (`trusted_proxy`). A flag without a value takes a boolean, a flag that repeats
//! takes an array, a number may be written bare. The file's values become the arguments'
//! defaults, so clap's own order decides: the command line, then the environment variable, then
//! the file, then the built-in default. An unknown key, or a value of the wrong kind, stops the
//! start with the file and the key named.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgAction, ColorChoice, CommandFactory, FromArgMatches};

use crate::config::Cli;

/// The id of the `--config` argument of `fila serve` (the field `ServeArgs::config`).
const CONFIG_ID: &str = "config";

/// Why the command line could not be read.
#[derive(Debug)]
pub enum CliError {
    /// The command line itself (clap prints it, with the usage, and exits 2).
    Clap(clap::Error),
    /// The settings file: missing, not TOML, an unknown key or a value of the wrong kind.
    File(String),
}

impl From<clap::Error> for CliError {
    fn from(error: clap::Error) -> Self {
        CliError::Clap(error)
    }
}

/// Reads the command line, with the settings file of `fila serve --config` (or `FILA_CONFIG`)
/// under the flags and the environment.
pub fn try_parse_from<I, T>(args: I) -> Result<Cli, CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let command = Cli::command();
    let matches = command.clone().try_get_matches_from(&args)?;
    let config = match matches.subcommand() {
        Some(("serve", serve)) => serve.get_one::<PathBuf>(CONFIG_ID).cloned(),
        _ => None,
    };
    let Some(path) = config else {
        return Ok(Cli::from_arg_matches(&matches)?);
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|error| CliError::File(format!("{}: {error}", path.display())))?;
    // Built, the subcommand also has the flags every command takes (`--log-format`).
    let mut built = command.clone();
    built.build();
    let serve = built
        .find_subcommand("serve")
        .ok_or_else(|| CliError::File("the command has no serve".to_string()))?;
    let defaults = file_defaults(serve, &text)
        .map_err(|message| CliError::File(format!("{}: {message}", path.display())))?;
    // The flags every command takes (`--log-format`) are the top command's own.
    let (global, defaults): (Vec<_>, Vec<_>) = defaults
        .into_iter()
        .partition(|(id, _)| command.get_arguments().any(|arg| arg.get_id() == id));
    let command = global
        .into_iter()
        .fold(command, |command, (id, values)| {
            command.mut_arg(id, |arg| arg.default_values(values))
        })
        .mut_subcommand("serve", |serve| {
            defaults.into_iter().fold(serve, |serve, (id, values)| {
                serve.mut_arg(id, |arg| arg.default_values(values))
            })
        });
    let matches = command.try_get_matches_from(&args)?;
    Ok(Cli::from_arg_matches(&matches)?)
}

/// The file's settings as `(argument id, values)` for the command's arguments, each value
/// checked by the argument's own parser.
pub fn file_defaults(
    command: &clap::Command,
    text: &str,
) -> Result<Vec<(String, Vec<String>)>, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|error: toml::de::Error| format!("not a valid TOML file: {}", error.message()))?;
    let mut defaults = Vec::with_capacity(table.len());
    for (key, value) in &table {
        let arg = setting(command, key).ok_or_else(|| {
            format!(
                "unknown key `{key}` (the keys are the long flags of `fila serve`, e.g. `listen`)"
            )
        })?;
        let values = values_of(arg, value).map_err(|message| format!("key `{key}`: {message}"))?;
        for value in &values {
            check(arg, value).map_err(|message| format!("key `{key}`: {message}"))?;
        }
        defaults.push((arg.get_id().to_string(), values));
    }
    Ok(defaults)
}

/// The argument a key names: a long flag, with `-` or `_` between words (never `--config`
/// itself, `--help` or `--version`).
fn setting<'c>(command: &'c clap::Command, key: &str) -> Option<&'c Arg> {
    let long = key.replace('_', "-");
    command.get_arguments().find(|arg| {
        arg.get_long() == Some(long.as_str())
            && arg.get_id() != CONFIG_ID
            && !matches!(
                arg.get_action(),
                ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong | ArgAction::Version
            )
    })
}

/// A TOML value as the strings the argument would be given on the command line.
fn values_of(arg: &Arg, value: &toml::Value) -> Result<Vec<String>, String> {
    let switch = matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse);
    match value {
        toml::Value::Boolean(on) => Ok(vec![on.to_string()]),
        _ if switch => Err("expected true or false".to_string()),
        toml::Value::Array(items) => {
            if !matches!(arg.get_action(), ArgAction::Append) {
                return Err("takes one value, not a list".to_string());
            }
            items.iter().map(scalar).collect()
        }
        other => Ok(vec![scalar(other)?]),
    }
}

fn scalar(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(text) => Ok(text.clone()),
        toml::Value::Integer(number) => Ok(number.to_string()),
        toml::Value::Float(number) => Ok(number.to_string()),
        toml::Value::Boolean(on) => Ok(on.to_string()),
        toml::Value::Datetime(moment) => Ok(moment.to_string()),
        toml::Value::Array(_) => Err("a list inside a list".to_string()),
        toml::Value::Table(_) => Err("expected a value, not a table".to_string()),
    }
}

/// Runs the argument's value parser on one value (the message clap would print for the flag).
fn check(arg: &Arg, value: &str) -> Result<(), String> {
    if matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse) {
        return Ok(());
    }
    let long = arg.get_long().unwrap_or("value").to_string();
    let probe = clap::Command::new("fila")
        .no_binary_name(true)
        .color(ColorChoice::Never)
        .arg(
            Arg::new("value")
                .long(long.clone())
                .value_name("VALUE")
                .action(ArgAction::Set)
                .value_parser(arg.get_value_parser().clone()),
        );
    match probe.try_get_matches_from([format!("--{long}={value}")]) {
        Ok(_) => Ok(()),
        Err(error) => {
            let rendered = error.render().to_string();
            let line = rendered.lines().next().unwrap_or_default();
            Err(line.trim_start_matches("error: ").to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Command;
    use std::io::Write;

    fn serve_with(file: &str, extra: &[&str]) -> Result<crate::config::ServeArgs, CliError> {
        let mut config = tempfile::NamedTempFile::new().unwrap();
        config.write_all(file.as_bytes()).unwrap();
        let path = config.path().to_str().unwrap().to_string();
        let mut args = vec!["fila", "serve", "--config", &path];
        args.extend_from_slice(extra);
        match try_parse_from(args)?.command {
            Command::Serve(args) => Ok(args),
            _ => panic!("serve"),
        }
    }

    fn file_error(file: &str) -> String {
        match serve_with(file, &[]) {
            Err(CliError::File(message)) => message,
            Err(CliError::Clap(error)) => panic!("a clap error: {error}"),
            Ok(args) => panic!("accepted: {args:?}"),
        }
    }

    #[test]
    fn every_kind_of_setting_is_read_from_the_file() {
        let args = serve_with(
            r#"
            listen = "0.0.0.0:4000"
            database-url = "sqlite:///var/lib/fila/fila.db"
            token-ttl = 120
            demo = true
            metrics-on-main-port = false
            trusted-proxy = ["10.0.0.0/8", "127.0.0.1"]
            max_connections = 500
            "#,
            &[],
        )
        .unwrap();
        assert_eq!(args.listen.to_string(), "0.0.0.0:4000");
        assert_eq!(args.database_url, "sqlite:///var/lib/fila/fila.db");
        assert_eq!(args.token_ttl, 120);
        assert!(args.demo);
        assert!(!args.safety.metrics_on_main_port);
        assert_eq!(args.safety.trusted_proxies, ["10.0.0.0/8", "127.0.0.1"]);
        assert_eq!(
            args.safety.max_connections, 500,
            "snake_case keys are read too"
        );
        assert_eq!(
            args.safety.header_timeout, 10,
            "what the file leaves out keeps its default"
        );
    }

    #[test]
    fn a_flag_on_the_command_line_wins_over_the_file() {
        let args = serve_with(
            "listen = \"0.0.0.0:4000\"\ntrusted-proxy = [\"10.0.0.0/8\"]\n",
            &[
                "--listen",
                "127.0.0.1:5000",
                "--trusted-proxy",
                "192.168.0.1",
            ],
        )
        .unwrap();
        assert_eq!(args.listen.to_string(), "127.0.0.1:5000");
        assert_eq!(
            args.safety.trusted_proxies,
            ["192.168.0.1"],
            "the list is replaced, not merged"
        );
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_it_and_the_file() {
        let message = file_error("listen = \"0.0.0.0:4000\"\nlisten-port = 3000\n");
        assert!(message.contains("unknown key `listen-port`"), "{message}");
        assert!(message.contains(".tmp"), "the file is named: {message}");
        assert!(file_error("config = \"/etc/other.toml\"").contains("unknown key `config`"));
        assert!(file_error("help = true").contains("unknown key `help`"));
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_an_error_naming_the_key() {
        let cases = [
            ("token-ttl = \"soon\"", "key `token-ttl`"),
            ("token-ttl = 0", "key `token-ttl`"),
            ("listen = 3000", "key `listen`"),
            ("demo = \"yes\"", "key `demo`: expected true or false"),
            (
                "listen = [\"0.0.0.0:1\"]",
                "key `listen`: takes one value, not a list",
            ),
            ("[listen]\nport = 1", "key `listen`"),
            ("listen = ", "not a valid TOML file"),
        ];
        for (file, expected) in cases {
            let message = file_error(file);
            assert!(message.contains(expected), "{file:?}: {message}");
        }
    }

    #[test]
    fn without_a_file_the_command_line_reads_as_before() {
        let cli = try_parse_from(["fila", "serve", "--token-ttl", "60"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("serve")
        };
        assert_eq!(args.token_ttl, 60);
        assert!(args.config.is_none());
        let missing = try_parse_from(["fila", "serve", "--config", "/nonexistent/fila.toml"]);
        assert!(
            matches!(missing, Err(CliError::File(message)) if message.starts_with("/nonexistent/fila.toml: "))
        );
    }

    #[test]
    fn the_file_also_sets_the_flags_every_command_takes() {
        let path = std::env::temp_dir().join(format!("fila-log-{}.toml", std::process::id()));
        std::fs::write(&path, "log-format = \"json\"\ntoken-ttl = 90\n").unwrap();
        let path_text = path.to_string_lossy().to_string();
        let cli = try_parse_from(["fila", "serve", "--config", &path_text]).unwrap();
        assert_eq!(cli.log_format, crate::config::LogFormat::Json);
        let flag = [
            "fila",
            "--log-format",
            "text",
            "serve",
            "--config",
            &path_text,
        ];
        assert_eq!(
            try_parse_from(flag).unwrap().log_format,
            crate::config::LogFormat::Text
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn the_example_file_shows_every_key_and_reads_without_its_comments() {
        let example = include_str!("../contrib/fila.toml");
        let mut command = Cli::command();
        command.build();
        let serve = command.find_subcommand("serve").unwrap();
        let mut keys = 0;
        for arg in serve.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if long == CONFIG_ID || setting(serve, long).is_none() {
                continue;
            }
            keys += 1;
            let shown = example.lines().any(|line| {
                line.trim_start_matches("# ")
                    .starts_with(&format!("{long} = "))
            });
            assert!(shown, "contrib/fila.toml shows `{long} = ...`");
        }
        // Every commented key, uncommented, is a valid setting (the secrets and the web folder
        // aside: the defaults of those are no value).
        let uncommented: String = example
            .lines()
            .map(|line| line.strip_prefix("# ").unwrap_or(line))
            .filter(|line| line.contains(" = ") && !line.starts_with("jwt-secret ="))
            .map(|line| format!("{}\n", line.split(" # ").next().unwrap_or(line)))
            .collect();
        let defaults = file_defaults(serve, &uncommented).unwrap();
        assert_eq!(defaults.len(), keys - 1, "all but jwt-secret: {defaults:?}");
    }
}
