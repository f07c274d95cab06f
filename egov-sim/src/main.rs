use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "egov_sim=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    egov_sim::server::run(egov_sim::server::Options::parse()).await
}
