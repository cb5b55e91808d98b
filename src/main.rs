use clap::Parser;
use scim_portal::cli::{self, Cli, Command};
use scim_portal::config::AppConfig;

fn fail(message: &str) -> ! {
    eprintln!("scim-portal: {message}");
    std::process::exit(1)
}

#[rocket::main]
async fn main() {
    let args = Cli::parse();
    let figment = scim_portal::figment();
    match args.command {
        None | Some(Command::Serve) => {
            let rocket = scim_portal::build(figment).unwrap_or_else(|e| fail(&e));
            if let Err(e) = rocket.launch().await {
                fail(&format!("the server stopped: {e}"));
            }
        }
        Some(command) => {
            let config = AppConfig::from_figment(&figment).unwrap_or_else(|e| fail(&e));
            match cli::run(command, &config) {
                Ok(out) => println!("{out}"),
                Err(e) => fail(&e),
            }
        }
    }
}
