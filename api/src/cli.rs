//! Command-line interface of the `longshore-api` binary.

use std::net::TcpListener;

use anyhow::Context;
use clap::{Parser, Subcommand};
use longshore_jobs::config::Config;
use longshore_jobs::config::Secret;
use longshore_jobs::db::{api_keys, tenants};
use longshore_jobs::ids::{ApiKeyId, TenantId};
use longshore_jobs::operator::{self, Actor};
use longshore_jobs::platform::Services;
use longshore_jobs::{shutdown, telemetry};

/// Longshore's API server and admin tool. Settings come from the environment (see README).
#[derive(Parser)]
#[command(name = "longshore-api", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Run API, worker and scheduler in one process on the embedded SQLite default, with a
    /// development tenant and a fresh API key printed at start.
    Dev,
    /// Apply database migrations and exit (the Procfile's release phase).
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenants(TenantCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeyCommand),
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant and print its id.
    Create { name: String },
    /// List tenants.
    List,
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create an API key for a tenant; the key is printed once.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// List a tenant's keys (never their secrets).
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a key by id (`key_…`).
    Revoke { id: String },
}

/// Runs the chosen command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format);
    longshore_jobs::metrics::install();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Dev => crate::cli::dev(config).await,
        Command::Migrate => {
            Services::connect(config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Tenants(cmd) => tenant_command(config, cmd).await,
        Command::Keys(cmd) => key_command(config, cmd).await,
    }
}

async fn serve(mut config: Config) -> anyhow::Result<()> {
    let addr = format!("{}:{}", config.host, config.port);
    let listener = TcpListener::bind(&addr).with_context(|| format!("bind {addr}"))?;
    // With `PORT=0` the URLs the API hands out (OpenAPI server, webhook endpoints, links) must
    // carry the port actually bound, not 0.
    config.port = listener.local_addr()?.port();
    let services = Services::connect(config).await?;
    let token = shutdown::on_signals();
    tracing::info!(addr = %listener.local_addr()?, "api listening");
    longshore_api::serve(services, listener, token.cancelled_owned()).await?;
    tracing::info!("api stopped");
    Ok(())
}

async fn dev(mut config: Config) -> anyhow::Result<()> {
    config.database_url = None;
    config.redis_url = None;
    if config.outbound_allow.trim().is_empty() {
        // The quick start's HTTP tasks call the developer's own app, on this machine.
        config.outbound_allow = "localhost,127.0.0.1/32,::1/128".into();
    }
    // A fresh operator key per start unless one is configured, printed below like the API key.
    let printed_operator_key = match &config.admin_key {
        Some(k) if !k.expose().trim().is_empty() => None,
        _ => {
            let secret = hex::encode(rand::random::<[u8; 32]>());
            config.admin_key = Some(Secret::new(format!("dev:{secret}")));
            Some(secret)
        }
    };
    let addr = format!("{}:{}", config.host, config.port);
    let listener = TcpListener::bind(&addr).with_context(|| format!("bind {addr}"))?;
    let local = listener.local_addr()?;
    // The port actually bound (`PORT=0` picks one) goes into every URL the API hands out.
    config.port = local.port();
    let services = Services::connect(config.clone()).await?;
    let tenant = match tenants::find_by_name(&services.db, "development").await? {
        Some(t) => t,
        None => tenants::create(services.db.pool(), "development", None).await?,
    };
    let key = api_keys::create(services.db.pool(), &tenant.id, "dev").await?;
    let base = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    println!();
    println!(
        "Longshore is running (embedded: SQLite in {}/)",
        config.data_dir.display()
    );
    println!("  API        {base}");
    println!("  Docs       {base}/docs   (ReDoc: {base}/redoc, spec: {base}/openapi.json)");
    println!("  API key    {}", key.token);
    match &printed_operator_key {
        Some(secret) => println!("  Admin key  {secret}   (operator: {base}/v1/admin/…)"),
        None => println!("  Admin key  LONGSHORE_ADMIN_KEY (operator: {base}/v1/admin/…)"),
    }
    println!("  Dashboard  {base}/dashboard   (log in with the admin key)");
    println!(
        "  HTTP tasks may call {} (LONGSHORE_OUTBOUND_ALLOW)",
        config.outbound_allow
    );
    println!(
        "  Try        curl -s -X POST {base}/v1/jobs -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' -d '{{\"type\":\"diagnostic.noop\"}}'",
        key.token
    );
    println!();
    let token = shutdown::on_signals();
    let worker = longshore_jobs::queue::WorkerId::generate("dev");
    let queues = longshore_jobs::queue::QUEUES
        .iter()
        .map(|q| q.to_string())
        .collect();
    let workers = tokio::spawn(longshore_jobs::runtime::run_workers(
        services.clone(),
        worker,
        queues,
        token.clone().cancelled_owned(),
    ));
    let scheduler = tokio::spawn(longshore_jobs::scheduler::run(
        services.clone(),
        token.clone(),
    ));
    longshore_api::serve(services, listener, token.clone().cancelled_owned()).await?;
    token.cancel();
    workers.await??;
    scheduler.await?;
    Ok(())
}

/// The audit log's actor for the command line: the shell user, on this machine.
fn cli_actor() -> Actor {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    Actor {
        operator: format!("cli:{user}"),
        client_ip: None,
        request_id: None,
    }
}

async fn tenant_command(config: Config, cmd: TenantCommand) -> anyhow::Result<()> {
    let services = Services::connect(config).await?;
    match cmd {
        TenantCommand::Create { name } => {
            let t = operator::tenants::create(&services.db, &cli_actor(), &name, None).await?;
            println!("{}", t.id);
        }
        TenantCommand::List => {
            for t in tenants::list(&services.db).await? {
                println!("{}\t{}", t.id, t.name);
            }
        }
    }
    Ok(())
}

async fn key_command(config: Config, cmd: KeyCommand) -> anyhow::Result<()> {
    let services = Services::connect(config).await?;
    match cmd {
        KeyCommand::Create { tenant, name } => {
            let tenant: TenantId = tenant.parse().context("--tenant must be a ten_… id")?;
            let issued = operator::tenants::create_key(&services.db, &cli_actor(), &tenant, &name)
                .await?
                .with_context(|| format!("no tenant {tenant}"))?;
            println!("{}", issued.token);
            eprintln!(
                "key id {} (the key above is shown only once)",
                issued.key.id
            );
        }
        KeyCommand::List { tenant } => {
            let tenant: TenantId = tenant.parse().context("--tenant must be a ten_… id")?;
            for k in api_keys::list(&services.db, &tenant).await? {
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!("{}\t{}\t{}", k.id, k.name, state);
            }
        }
        KeyCommand::Revoke { id } => {
            let id: ApiKeyId = id.parse().context("the id must be a key_… id")?;
            if operator::tenants::revoke_key(&services.db, &cli_actor(), &id)
                .await?
                .is_some()
            {
                println!("revoked {id}");
            } else {
                anyhow::bail!("no active key {id}");
            }
        }
    }
    Ok(())
}
