use std::process::ExitCode;

use clap::Parser;
use fila::config::{AccountsCommand, Cli, Command, DemoCommand, SecretCommand, UsersCommand};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
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
