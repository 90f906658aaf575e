use clap::Parser;
use fila::config::{AccountsCommand, Cli, Command, DemoCommand};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    fila::telemetry::init();
    match cli.command {
        Command::Serve(args) => fila::startup::serve(args).await,
        Command::Accounts {
            command: AccountsCommand::Create(args),
        } => fila::startup::create_account(args).await,
        Command::Demo {
            command: DemoCommand::SeedHistory(args),
        } => fila::startup::seed_history(args).await,
    }
}
