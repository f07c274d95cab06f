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

/// Serves `state` on `runtime`; returns the base URL. The port is bound here, not inside the
/// runtime, so that callers on another runtime (async tests) can start a server too.
pub fn serve(runtime: &tokio::runtime::Runtime, state: AppState) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let router = egov_sim::http::router(state);
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
        axum::serve(listener, router).await
    });
    url
}
