//! Administration: the CLI's commands. Each one is a thin shell around a
//! library function of `archive` or `import` (which the admin API and the
//! IMAP server call too), plus printing.

mod audit;
pub mod cli;
mod compliance;
mod directory;
mod folder;
mod index;
mod journal;
mod process;
mod progress;

use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::archive::{
    Actor, Archives, Authentication, FolderPath, FolderPrivileges, GlobalPrivileges, NewUserRequest,
};
use crate::config::Config;
use crate::import::{self, ImportOptions, Plan};
use cli::{Cli, Command, ImportArgs, PasswordArgs, StoreCommand, UserCommand};
use progress::Progress;

/// Runs one command line; the exit code is non-zero on any failure.
pub fn run(cli: Cli) -> Result<ExitCode> {
    // A worker reads nothing but its requests: no configuration, no data.
    if let Command::ExtractWorker {
        retire_after_cpu_seconds,
    } = cli.command
    {
        crate::index::serve_worker(std::time::Duration::from_secs(retire_after_cpu_seconds))
            .context("extraction worker")?;
        return Ok(ExitCode::SUCCESS);
    }
    process::private_files();
    process::no_space_is_an_error();
    let config = Config::load(cli.config.as_deref(), cli.data_dir.as_deref())?;
    crate::logging::init(&config.log);
    match cli.command {
        Command::Serve { create: false, .. } if !Archives::exists(&config)? => bail!(
            "the data directory {} holds no archive; check data_dir (or --data-dir), \
             or create one with `archimap init` or `archimap serve --create`",
            config.data_dir.display()
        ),
        Command::Init if Archives::exists(&config)? => {
            println!(
                "{} holds an archive already; nothing changed",
                config.data_dir.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let mut archives = Archives::open(&config)
        .with_context(|| format!("opening the data directory {}", config.data_dir.display()))?;
    if !matches!(cli.command, Command::Serve { .. }) {
        archives = archives.acting_as(Actor {
            name: crate::archive::ADMIN.to_string(),
            ip: None,
        });
    }
    match cli.command {
        Command::Init => {
            println!("created a new archive in {}", config.data_dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            imaps,
            smtp,
            starttls,
            api,
            ..
        } => serve(
            config,
            archives,
            Listen {
                imaps,
                starttls,
                api,
                smtp,
            },
        ),
        Command::Import(args) => import(&archives, &config, args),
        Command::User(command) => user(&archives, command).map(|()| ExitCode::SUCCESS),
        Command::Grant {
            user,
            archive,
            privileges,
        } => {
            let privileges: FolderPrivileges = privileges.parse()?;
            archives.grant(&user, &archive, privileges)?;
            println!("{user} now holds {privileges} on archive {archive}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Folders { user } => {
            folders(&archives, user.as_deref()).map(|()| ExitCode::SUCCESS)
        }
        Command::Folder(command) => folder::run(&archives, command).map(|()| ExitCode::SUCCESS),
        Command::Message(command) => {
            folder::messages(&archives, command).map(|()| ExitCode::SUCCESS)
        }
        Command::Store(command) => store(&archives, command).map(|()| ExitCode::SUCCESS),
        Command::Export {
            archive,
            folder,
            out,
        } => export(&archives, &archive, folder.as_deref(), &out).map(|()| ExitCode::SUCCESS),
        Command::Verify {
            store,
            include_indexes,
        } => verify(&archives, store.as_deref(), include_indexes),
        Command::Index(command) => index::run(&archives, command),
        Command::Directory(command) => directory::run(&config, archives, command),
        Command::Audit(args) => audit::run(&archives, args).map(|()| ExitCode::SUCCESS),
        Command::Compliance(command) => {
            compliance::run(&archives, command).map(|()| ExitCode::SUCCESS)
        }
        Command::Journal(command) => journal::run(&archives, command).map(|()| ExitCode::SUCCESS),
        Command::ExtractWorker { .. } => unreachable!("served before the configuration is read"),
    }
}

/// Listener addresses given to `serve` on the command line.
struct Listen {
    imaps: Vec<String>,
    starttls: Vec<String>,
    api: Vec<String>,
    smtp: Vec<String>,
}

fn serve(mut config: Config, archives: Archives, listen: Listen) -> Result<ExitCode> {
    // Any listener given on the command line replaces all configured ones:
    // a test or a second instance must not collide with the defaults.
    let Listen {
        imaps,
        starttls,
        api,
        smtp,
    } = listen;
    if !imaps.is_empty() || !starttls.is_empty() || !api.is_empty() || !smtp.is_empty() {
        config.listeners.imaps = imaps;
        config.listeners.starttls = starttls;
        config.listeners.api = api;
        config.smtp.listen = smtp;
    }
    crate::background::limit_arenas();
    let archives = std::sync::Arc::new(archives);
    crate::background::start(&archives)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(crate::net::serve(config, archives))?;
    Ok(ExitCode::SUCCESS)
}

fn read_password(args: &PasswordArgs) -> Result<Option<String>> {
    if let Some(password) = &args.password {
        return Ok(Some(password.clone()));
    }
    if !args.password_stdin {
        return Ok(None);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("standard input held no password");
    }
    Ok(Some(password))
}

fn user(archives: &Archives, command: UserCommand) -> Result<()> {
    match command {
        UserCommand::Add {
            name,
            password,
            emails,
            full_name,
            privileges,
            authentication,
            distinguished_name,
        } => {
            let authentication: Authentication = authentication.parse()?;
            let password = read_password(&password)?;
            if authentication == Authentication::Integrated && password.is_none() {
                bail!("an integrated user needs a password: give it with --password-stdin");
            }
            let user = archives.add_user(NewUserRequest {
                name,
                full_name,
                emails,
                authentication,
                password,
                distinguished_name,
                privileges: privileges.parse()?,
            })?;
            println!(
                "created user {} with archive {} (read access to it)",
                user.name, user.name
            );
        }
        UserCommand::List => {
            for user in archives.users()? {
                println!(
                    "{}\t{}\t{}\t{}",
                    user.name,
                    user.authentication.as_str(),
                    GlobalPrivileges::from_bits(user.privileges),
                    user.emails.join(",")
                );
            }
        }
        UserCommand::Show { name } => {
            let details = archives.user_details(&name)?;
            let user = &details.user;
            println!("name:               {}", user.name);
            println!("full name:          {}", user.full_name);
            println!("authentication:     {}", user.authentication.as_str());
            println!("e-mail addresses:   {}", user.emails.join(", "));
            println!(
                "distinguished name: {}",
                user.distinguished_name.as_deref().unwrap_or("")
            );
            println!("privileges:         {}", details.privileges);
            println!("archives:");
            for (archive, privileges) in &details.archives {
                println!("  {archive}: {privileges}");
            }
        }
        UserCommand::Passwd { name, password } => {
            let Some(password) = read_password(&password)? else {
                bail!("give the new password with --password-stdin");
            };
            archives.set_password(&name, &password)?;
            println!("password of {name} changed");
        }
        UserCommand::Rename { name, new_name } => {
            archives.rename_user(&name, &new_name)?;
            println!("renamed {name} to {new_name}");
        }
        UserCommand::Delete { name } => {
            archives.delete_user(&name)?;
            println!("deleted user {name}; the archive {name} is kept");
        }
        UserCommand::SetPrivileges { name, privileges } => {
            let privileges: GlobalPrivileges = privileges.parse()?;
            archives.set_privileges(&name, privileges)?;
            println!("{name} now has {privileges}");
        }
        UserCommand::ClearGrants { name } => {
            let cleared = archives.clear_grants(&name)?;
            println!("{name} no longer holds privileges on any archive ({cleared} removed)");
        }
        UserCommand::SetAuthentication {
            name,
            authentication,
        } => {
            let user = archives.set_authentication(&name, authentication.parse()?)?;
            println!("{name} now signs in with {}", user.authentication.as_str());
            if user.authentication == Authentication::Integrated && user.password_hash.is_none() {
                println!("{name} has no password yet: set one with `archimap user passwd`");
            }
        }
        UserCommand::SetFullName { name, full_name } => {
            archives.set_full_name(&name, full_name.as_deref().unwrap_or(""))?;
            println!("full name of {name} set");
        }
        UserCommand::SetEmails { name, emails } => {
            archives.set_emails(&name, &emails)?;
            println!("e-mail addresses of {name} set");
        }
        UserCommand::SetDistinguishedName { name, dn } => {
            archives.set_distinguished_name(&name, dn.as_deref())?;
            println!("distinguished name of {name} set");
        }
    }
    Ok(())
}

fn import(archives: &Archives, config: &Config, args: ImportArgs) -> Result<ExitCode> {
    let options = ImportOptions {
        store: args.store,
        mbox_format: args.mbox_format,
        tuning: config.import.clone(),
        max_message_size: config.limits.max_message_size,
    };
    let progress = Progress::new("importing");
    let update = |done, total, bytes| progress.update(done, total, bytes);
    let report = match (&args.bulk, &args.user) {
        (Some(root), _) => import::run_bulk(archives, root, args.create_users, &options, &update)?,
        (None, Some(user)) => {
            archives.user(user)?; // an unknown user fails before the input is read
            let folder = args.folder.as_deref().map(FolderPath::new).transpose()?;
            let plan = Plan::of_paths(&args.paths, folder.as_ref(), args.mbox_format)?;
            import::run(archives, user, plan, &options, &update)?
        }
        (None, None) => bail!("say whose archive to import into: --user U, or --bulk ROOT"),
    };
    progress.finish();
    println!(
        "imported {}, duplicates {}, unparsed {}, failed {} ({:.1} MB in {:.1} s, {:.0} messages/s)",
        report.imported,
        report.duplicates,
        report.unparsed,
        report.failed.len(),
        report.bytes as f64 / 1e6,
        report.seconds,
        (report.imported + report.duplicates) as f64 / report.seconds.max(1e-3)
    );
    for failure in &report.failed {
        println!("failed: {}: {}", failure.source, failure.reason);
    }
    for skipped in &report.skipped {
        println!("skipped: {}: {}", skipped.source, skipped.reason);
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn folders(archives: &Archives, user: Option<&str>) -> Result<()> {
    let user = user.map(|name| archives.user(name)).transpose()?;
    for tree in archives.folder_trees(user.as_ref())? {
        let total: u64 = tree.folders.iter().map(|f| tree.messages(f)).sum();
        println!(
            "{} ({} folders, {total} messages)",
            tree.archive,
            tree.folders.len()
        );
        for folder in &tree.folders {
            let depth = folder.path.matches('/').count() + 1;
            let name = folder.path.rsplit('/').next().unwrap_or(&folder.path);
            println!(
                "{:indent$}{name}  {}",
                "",
                tree.messages(folder),
                indent = depth * 2
            );
        }
    }
    Ok(())
}

fn store(archives: &Archives, command: StoreCommand) -> Result<()> {
    match command {
        StoreCommand::List => {
            for store in archives.stores()? {
                println!("{}\t{}\t{}", store.name, store.state, store.path.display());
            }
        }
        StoreCommand::Create { name, path, state } => {
            let store = archives.create_store(&name, path.as_deref(), state.parse()?)?;
            println!(
                "created archive store {} ({}) at {}",
                store.name,
                store.state,
                store.path.display()
            );
        }
        StoreCommand::SetState { name, state } => {
            archives.set_store_state(&name, state.parse()?)?;
            println!("archive store {name} is now {state}");
        }
        StoreCommand::Rename { name, new_name } => {
            archives.rename_store(&name, &new_name)?;
            println!("renamed archive store {name} to {new_name}");
        }
        StoreCommand::Detach { name } => {
            let store = archives.detach_store(&name)?;
            println!(
                "detached archive store {}; its directory {} is kept",
                store.name,
                store.path.display()
            );
        }
        StoreCommand::Attach { name, path, state } => {
            let store = archives.attach_store(&name, &path, state.parse()?)?;
            println!(
                "attached archive store {} ({}) at {}",
                store.name,
                store.state,
                store.path.display()
            );
        }
    }
    Ok(())
}

fn export(archives: &Archives, archive: &str, folder: Option<&str>, out: &Path) -> Result<()> {
    let trees = archives.folder_trees(None)?;
    let tree = trees
        .iter()
        .find(|t| t.archive.eq_ignore_ascii_case(archive))
        .with_context(|| format!("archive {archive} not found"))?;
    let mut written = 0u64;
    for record in tree
        .folders
        .iter()
        .filter(|f| folder.is_none_or(|want| f.path == want))
    {
        let path = FolderPath::new(&record.path)?;
        let dir = out.join(&record.path);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for message in archives.folder_messages(&tree.archive, &path)? {
            let mut bytes = Vec::with_capacity(message.content.size() as usize);
            archives
                .open_message(&message.content)?
                .read_to_end(&mut bytes)?;
            let file = dir.join(format!("{}.eml", message.uid));
            std::fs::File::create(&file)
                .and_then(|mut f| f.write_all(&bytes))
                .with_context(|| format!("writing {}", file.display()))?;
            written += 1;
        }
    }
    if written == 0
        && folder.is_some()
        && !tree.folders.iter().any(|f| Some(f.path.as_str()) == folder)
    {
        bail!(
            "folder {} not found in archive {archive}",
            folder.unwrap_or_default()
        );
    }
    println!("exported {written} messages to {}", out.display());
    Ok(())
}

fn verify(archives: &Archives, store: Option<&str>, include_indexes: bool) -> Result<ExitCode> {
    let progress = Progress::new("verifying");
    let never = std::sync::atomic::AtomicBool::new(false);
    let report = archives.verify(store, include_indexes, &never, &|done, total, bytes| {
        progress.update(done, total, bytes)
    })?;
    progress.finish();
    index::print_verified(&report.indexes);
    for warning in &report.warnings {
        println!("warning: {warning}");
    }
    for problem in &report.problems {
        println!("problem: {problem}");
    }
    println!(
        "verified {} messages ({:.1} MB){}; {} problem(s)",
        report.blobs_checked,
        report.bytes_checked as f64 / 1e6,
        if report.blobs_skipped > 0 {
            format!(", {} in disabled stores skipped", report.blobs_skipped)
        } else {
            String::new()
        },
        report.problems.len()
    );
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
