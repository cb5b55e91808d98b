use clap::Parser;
use scim_portal::cli::{self, Cli, Command};
use scim_portal::config::AppConfig;

fn fail(message: &str) -> ! {
    eprintln!("scim-portal: {message}");
    std::process::exit(1)
}

/// Prints a one-time set-up link for each tenant that has no administrator yet.
fn announce_setup_links(rocket: &rocket::Rocket<rocket::Build>) {
    let Some(app) = rocket.state::<scim_portal::app::App>() else { return };
    match scim_portal::portal::auth::setup_links(&app.db, &app.public_url) {
        Ok(links) => {
            for (tenant, url) in links {
                eprintln!("Tenant {tenant} has no administrator yet. Create the first one (link valid 24 hours, once):\n  {url}");
            }
        }
        Err(e) => eprintln!("scim-portal: could not create set-up links: {e}"),
    }
}

#[rocket::main]
async fn main() {
    let args = Cli::parse();
    let figment = scim_portal::figment();
    match args.command {
        None | Some(Command::Serve) => {
            let rocket = scim_portal::build(figment).unwrap_or_else(|e| fail(&e));
            announce_setup_links(&rocket);
            if let Err(e) = rocket.launch().await {
                // Rocket logs the details (e.g. which routes collide) and returns a summary.
                let summary = e.pretty_print();
                fail(&format!("the server stopped: {summary}"));
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
