//! egov-sim served on an ephemeral 127.0.0.1 port; shared by the tests (`Sim`) and the sync
//! benchmark.

use egov_sim::state::AppState;

pub fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Serves `state` on `runtime`; returns the base URL.
pub fn serve(runtime: &tokio::runtime::Runtime, state: AppState) -> String {
    egov_sim::server::serve_loopback(runtime.handle(), state).expect("a loopback port")
}
