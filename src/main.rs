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

/// Blocking threads for database work. SQLite allows one writer and the
/// pool has four readers, so more threads than this only wait, each with its
/// own stack and malloc arena: queueing the work costs no throughput and keeps
/// memory flat under many concurrent clients.
const BLOCKING_THREADS: usize = 8;

fn main() {
    let args = Cli::parse();
    let figment = scim_portal::figment();
    match args.command {
        None | Some(Command::Serve) => serve(figment),
        Some(command) => {
            let config = AppConfig::from_figment(&figment).unwrap_or_else(|e| fail(&e));
            match cli::run(command, &config) {
                Ok(out) => println!("{out}"),
                Err(e) => fail(&e),
            }
        }
    }
}

fn serve(figment: rocket::figment::Figment) {
    // glibc gives every thread that allocates its own arena and keeps freed
    // memory in it; two arenas bound the server's resident memory.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator tunable, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    let workers = figment
        .extract_inner::<usize>("workers")
        .unwrap_or_else(|_| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let runtime = rocket::tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_name("rocket-worker-thread")
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("cannot start the async runtime: {e}")));
    runtime.block_on(async {
        let rocket = scim_portal::build(figment).unwrap_or_else(|e| fail(&e));
        announce_setup_links(&rocket);
        if let Err(e) = rocket.launch().await {
            // Rocket logs the details (e.g. which routes collide) and returns a summary.
            let summary = e.pretty_print();
            fail(&format!("the server stopped: {summary}"));
        }
    });
}
