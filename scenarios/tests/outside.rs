//! Tests that build code with cargo, the way a user would: a copy of this workspace
//! with a throwaway model added to the catalog, and a crate of a user's own, outside
//! the workspace, that depends on `consim` by path.
//!
//! Each builds a crate graph, which takes a minute or more on a cold machine, so
//! `cargo test` skips them; `.ci/run` runs them with
//! `cargo test --workspace --test outside -- --ignored`. They build in a target
//! folder of their own, kept between runs: never in this workspace's, because cargo
//! names a workspace member's artifacts by its path within the workspace, so a copy
//! of the workspace built there would replace this one's artifacts with its own.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace this test belongs to.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("scenarios/ sits in the workspace")
        .to_path_buf()
}

/// A fresh, empty folder for `name` under cargo's scratch space for tests.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if dir.exists() {
        fs::remove_dir_all(&dir).unwrap();
    }
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies the tree at `from` to `to`, leaving out build output and run artifacts.
fn copy_tree(from: &Path, to: &Path) {
    const LEFT_OUT: [&str; 5] = [
        "target",
        "consim-out",
        ".git",
        "proptest-regressions",
        "book",
    ];
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if LEFT_OUT.iter().any(|left_out| name == *left_out) {
            continue;
        }
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else if kind.is_file() {
            fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

/// Runs cargo in `dir` with `args`, building in the outside tests' own target folder.
fn cargo(dir: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("outside-target");
    Command::new(cargo)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("CARGO_MAKEFLAGS")
        .args(args)
        .output()
        .expect("cargo runs")
}

/// What `output` printed, for assertion messages.
fn printed(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A model that is not in the catalog: one server that keeps its data in volatile
/// memory, so a crash-restart forgets every acknowledged write. Written as the book's
/// *Writing a model* chapter says a model is written.
const FORGETFUL: &str = r#"//! `forgetful`: one server that keeps its keys in memory only.

use std::convert::Infallible;

use sim_core::{Ctx, Node, NodeId};

use crate::client::{Answer, ClientMsg, NoPeers, Routing, Wire, reply};
use crate::kv::{Mix, Store};
use crate::{Declaration, Guarantee, Model, ModelInfo};

/// The server: its store is volatile, so a restart starts from nothing.
#[derive(Debug)]
pub struct Server {
    store: Store,
}

impl Node for Server {
    type Config = ();
    type Msg = Wire<NoPeers>;
    type Timer = Infallible;
    type Durable = ();
    type Input = Infallible;
    type Output = Infallible;

    fn start(_config: &(), _ctx: &mut Ctx<'_, Self>) -> Self {
        Server { store: Store::default() }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Wire<NoPeers>) {
        let Wire::Client(ClientMsg::Request { id, request, .. }) = msg else {
            return;
        };
        let done = self.store.apply(&request);
        ctx.send(from, reply(id, Answer::Done(done), 0));
    }
}

impl crate::Replica for Server {
    type Peer = NoPeers;

    fn leads(&self) -> bool {
        true
    }
}

crate::settings! {
    /// forgetful's settings: it has exactly one replica.
    pub struct ForgetfulSettings {
        /// Replicas: the one server.
        "replicas" replicas: usize = 1, in 1..=1;
    }
}

/// forgetful in the catalog.
pub const FORGETFUL: Declaration<ForgetfulSettings, Forgetful> = Declaration {
    info: ModelInfo {
        name: "forgetful",
        summary: "one server that keeps its keys in memory only",
        promises: Guarantee::ALL_BUT_CONVERGENCE,
        variant_of: None,
        breaks: &[],
        default_scenario: "crash-restart",
        workload: Mix::Register,
        settings: &[],
    },
    build: |_| Ok(Forgetful),
};

/// The model the runner builds.
#[derive(Clone, Copy, Debug)]
pub struct Forgetful;

impl Model for Forgetful {
    type Replica = Server;

    fn replicas(&self) -> Vec<()> {
        vec![()]
    }

    fn routing(&self) -> Routing {
        Routing::Home
    }
}
"#;

/// Adds `forgetful` to the copy of the workspace at `root`: its module, and its line
/// in the catalog.
fn add_forgetful(root: &Path) {
    let models = root.join("models/src");
    fs::write(models.join("forgetful.rs"), FORGETFUL).unwrap();
    let lib = fs::read_to_string(models.join("lib.rs")).unwrap();
    let lib = lib.replacen(
        "pub mod dynamo;\n",
        "pub mod dynamo;\npub mod forgetful;\n",
        1,
    );
    let catalog = "catalog![\n";
    assert!(
        lib.contains(catalog),
        "models/src/lib.rs declares the catalog"
    );
    let lib = lib.replacen(catalog, "catalog![\n    forgetful::FORGETFUL,\n", 1);
    fs::write(models.join("lib.rs"), lib).unwrap();
}

#[test]
#[ignore = "builds a copy of the workspace with cargo; .ci/run runs it"]
fn a_model_added_as_one_module_and_one_catalog_line_runs_everywhere() {
    let root = scratch("throwaway-model");
    copy_tree(&workspace(), &root);
    add_forgetful(&root);
    let consim = |args: &[&str]| {
        let mut all = vec!["run", "-q", "-p", "consim", "--bin", "consim", "--"];
        all.extend_from_slice(args);
        cargo(&root, &all)
    };

    let list = consim(&["list"]);
    assert!(list.status.success(), "{}", printed(&list));
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("forgetful"),
        "{}",
        printed(&list)
    );

    // Without faults one server is linearizable; crash-restarts make it forget.
    let calm = consim(&[
        "run",
        "--model",
        "forgetful",
        "--scenario",
        "none",
        "--seed",
        "1",
    ]);
    assert_eq!(calm.status.code(), Some(0), "{}", printed(&calm));
    let sweep = consim(&[
        "sweep",
        "--model",
        "forgetful",
        "--scenario",
        "crash-restart",
        "--seeds",
        "0..20",
    ]);
    assert_eq!(sweep.status.code(), Some(1), "{}", printed(&sweep));
    let out = String::from_utf8_lossy(&sweep.stdout);
    let replay = "run --model forgetful --scenario crash-restart --seed";
    assert!(out.contains(replay), "{}", printed(&sweep));

    // A wrong setting is refused in the user's words, as for every catalog model.
    let wrong = consim(&[
        "run",
        "--model",
        "forgetful",
        "--replicas",
        "3",
        "--seed",
        "1",
    ]);
    assert_eq!(wrong.status.code(), Some(2), "{}", printed(&wrong));
    let refusal = "model `forgetful`: setting `replicas` is `3`; it takes exactly 1";
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains(refusal),
        "{}",
        printed(&wrong)
    );
}

/// A user's crate: a store of their own, declared in their own `main.rs`, whose whole
/// `main` is `consim::main`. Correct, it syncs each write before answering; with
/// `--bug forget` it answers first and syncs never, so a crash loses acknowledged
/// writes.
const USER_MAIN: &str = r#"use consim::prelude::*;

settings! {
    /// my-store's settings.
    pub struct MySettings {
        /// Answer writes without ever syncing them (a bug).
        bug "forget" forget: bool = false;
    }
}

const MY_STORE: Declaration<MySettings, MyStore> = Declaration {
    info: ModelInfo::new("my-store", "one server of my own")
        .promises(&[Guarantee::Linearizable, Guarantee::NoLostWrites])
        .scenario("crash-restart"),
    build: |settings| Ok(MyStore { forget: settings.forget }),
};

fn main() -> std::process::ExitCode {
    consim::main(MY_STORE)
}

#[derive(Debug)]
struct Server {
    forget: bool,
}

#[derive(Clone, Debug, Default)]
struct Data {
    store: Store,
    dedup: Dedup,
}

impl Node for Server {
    type Config = bool;
    type Msg = Wire<NoPeers>;
    type Timer = Infallible;
    type Durable = Data;
    type Input = Infallible;
    type Output = Infallible;

    fn start(forget: &bool, _ctx: &mut Ctx<'_, Self>) -> Self {
        Server { forget: *forget }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Wire<NoPeers>) {
        let Wire::Client(ClientMsg::Request { id, request, .. }) = msg else {
            return;
        };
        let done = match ctx.durable().dedup.seen(id) {
            Some(done) => done.clone(),
            None => {
                let data = ctx.durable_mut();
                let done = data.store.apply(&request);
                data.dedup.record(id, done.clone());
                if !self.forget {
                    ctx.sync();
                }
                done
            }
        };
        ctx.send(from, reply(id, Answer::Done(done), 0));
    }
}

impl Replica for Server {
    type Peer = NoPeers;

    fn leads(&self) -> bool {
        true
    }
}

struct MyStore {
    forget: bool,
}

impl Model for MyStore {
    type Replica = Server;

    fn replicas(&self) -> Vec<bool> {
        vec![self.forget]
    }

    fn routing(&self) -> Routing {
        Routing::Home
    }
}
"#;

/// Writes the user's crate at `root`: its manifest, depending on this workspace's
/// `consim` by path (with this workspace's lock file, so that it builds the same
/// versions offline), and its `main.rs`.
fn write_user_crate(root: &Path) {
    let consim = workspace().join("scenarios");
    let manifest = format!(
        "[package]\nname = \"my-store\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [dependencies]\nconsim = {{ path = {:?} }}\n\n\
         # Not a member of any workspace above it.\n[workspace]\n\n\
         # consim's own profile, so that the crates.io dependencies built for the\n\
         # other outside test are reused from the shared target folder.\n\
         [profile.dev]\nopt-level = 1\n\n[profile.dev.package.\"*\"]\nopt-level = 3\n",
        consim.display().to_string()
    );
    fs::write(root.join("Cargo.toml"), manifest).unwrap();
    fs::copy(workspace().join("Cargo.lock"), root.join("Cargo.lock")).unwrap();
    fs::create_dir_all(root.join("src")).unwrap();
    fs::write(root.join("src/main.rs"), USER_MAIN).unwrap();
}

#[test]
#[ignore = "builds a crate outside the workspace with cargo; .ci/run runs it"]
fn a_crate_of_ones_own_gets_the_command_line_from_a_one_line_main() {
    let root = scratch("user-crate");
    write_user_crate(&root);
    let my_store = |args: &[&str]| {
        let mut all = vec!["run", "-q", "--"];
        all.extend_from_slice(args);
        cargo(&root, &all)
    };

    let list = my_store(&["list"]);
    assert!(list.status.success(), "{}", printed(&list));
    let shown = String::from_utf8_lossy(&list.stdout);
    assert!(
        shown.contains("my-store") && shown.contains("--bug forget"),
        "{}",
        printed(&list)
    );

    // `--model` defaults to the one model.
    let sweep = my_store(&["sweep", "--seeds", "0..20", "--scenario", "crash-restart"]);
    assert_eq!(sweep.status.code(), Some(0), "{}", printed(&sweep));
    let out = String::from_utf8_lossy(&sweep.stdout);
    assert!(
        out.contains("sweep my-store crash-restart: 20 seeds, 0 failed"),
        "{}",
        printed(&sweep)
    );

    let buggy = my_store(&[
        "sweep",
        "--seeds",
        "0..20",
        "--scenario",
        "crash-restart",
        "--bug",
        "forget",
        "--out",
        "out",
    ]);
    assert_eq!(buggy.status.code(), Some(1), "{}", printed(&buggy));
    let out = String::from_utf8_lossy(&buggy.stdout);
    let replay = "replay: cargo run -p my-store --bin my-store -- run --model my-store \
                  --scenario crash-restart --seed";
    assert!(
        out.contains(replay) && out.contains("--bug forget"),
        "{}",
        printed(&buggy)
    );
    assert!(
        root.join("out").read_dir().unwrap().next().is_some(),
        "no artifacts"
    );

    let unknown = my_store(&["run", "--seed", "1", "--bug", "remember"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", printed(&unknown));
}
