use std::process::ExitCode;

use fila::config::{AccountsCommand, Command, DemoCommand, SecretCommand, UsersCommand};
use fila::config_file::CliError;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match fila::config_file::try_parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(CliError::Clap(error)) => error.exit(),
        Err(CliError::File(message)) => {
            eprintln!("fila: error: {message}");
            return ExitCode::from(2);
        }
    };
    fila::telemetry::init(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => fila::startup::serve(args).await,
        Command::Accounts {
            command: AccountsCommand::Create(args),
        } => fila::startup::create_account(args).await,
        Command::Users {
            command: UsersCommand::Create(args),
        } => fila::startup::create_user(args).await,
        Command::Users {
            command: UsersCommand::List(args),
        } => fila::startup::list_users(args).await,
        Command::Demo {
            command: DemoCommand::SeedHistory(args),
        } => fila::startup::seed_history(args).await,
        Command::Backup(args) => fila::backup::commands::backup(args).await,
        Command::Restore(args) => fila::backup::commands::restore(args).await,
        Command::Migrate(args) => return fila::migrate::run(args).await,
        Command::Secret {
            command: SecretCommand::Rotate(args),
        } => fila::backup::commands::rotate_secret(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line: the error and its causes, never a backtrace (whatever RUST_BACKTRACE says).
            eprintln!("fila: error: {error:#}");
            ExitCode::from(fila::backup::exit_status(&error))
        }
    }
}
