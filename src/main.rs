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

/// Rust's allocations go to mimalloc: its per-thread heaps need no lock,
/// where glibc's two shared arenas (below, still used by SQLite) made
/// allocation and free about a fifth of a GET by id, much of it waiting on
/// the arena lock. Built without transparent huge pages, which would count
/// 2 MiB of resident memory for every region touched.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (the same index in mimalloc 2 and 3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the system at once rather than after 10 ms:
/// 32 portal pages rendered at once peaked at 55 MiB resident with the
/// delay and 37 MiB without, at the same throughput.
fn tune_allocator() {
    // SAFETY: sets one mimalloc option; any thread may do so at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
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

/// glibc keeps memory freed after a burst (a page of 1,000 users, many
/// portal pages at once) in its arenas; once a second it is handed back to
/// the system, so resident memory follows the load down again.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    let _ = std::thread::Builder::new().name("malloc-trim".into()).spawn(|| loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
        // SAFETY: malloc_trim only returns free heap pages to the system.
        unsafe {
            libc::malloc_trim(0);
        }
    });
}

/// One async worker per core but one. Every write runs on the database
/// writer thread (and WAL checkpoints on another); with a worker on every
/// core, the writer was preempted by workers parsing the next requests and
/// all writes stalled with it. On 2 cores, one worker instead of two: POST
/// /Users 27 % of /healthz instead of 24 %, PATCH 26 % instead of 23 %,
/// with reads and portal pages unchanged.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

fn serve(figment: rocket::figment::Figment) {
    tune_allocator();
    // glibc gives every thread that allocates its own arena and keeps freed
    // memory in it; two arenas bound the server's resident memory.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator tunable, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    release_freed_memory();
    let workers = figment.extract_inner::<usize>("workers").unwrap_or_else(|_| default_workers());
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
