//! End-to-end tests of `scenarios serve`: the real binary on a free loopback port, driven by
//! a small hand-written HTTP/1.1 client, a WebSocket client, the Python example, a load test
//! and malformed requests. Every loop is bounded in count and time.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sim_core::Episode;
use sim_core::seed::episode_seed;

use crate::served::Served;

/// A running `scenarios serve`; killed when dropped.
struct Server {
    served: Served,
    addr: String,
}

impl Server {
    fn start(extra: &[&str]) -> Self {
        let args: Vec<&str> = ["serve"].into_iter().chain(extra.iter().copied()).collect();
        let served = Served::start(&args, &[], Duration::from_secs(10));
        let addr = served.addr.clone();
        Self { served, addr }
    }

    fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> (u16, Value) {
        self.served.request(method, path, body.unwrap_or_default())
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.request("GET", path, None)
    }

    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.request("POST", path, Some(body.to_string().as_bytes()))
    }

    fn create(&self, body: Value) -> (u64, Value) {
        let (status, response) = self.post("/batches", &body);
        assert_eq!(status, 201, "{response}");
        (response["batch"].as_u64().unwrap(), response)
    }
}

const ENV: &str = "twenty_questions-v0";

/// Plays slot 0 of a fresh batch with fixed actions until it ends; the transcript matches
/// `sim_core::replay` of scenario episode 0 of the seed.
#[test]
fn served_episodes_match_direct_replay() {
    let server = Server::start(&[]);
    let (status, envs) = server.get("/envs");
    assert_eq!(status, 200);
    assert!(envs["envs"].as_array().unwrap().iter().any(|e| e["id"] == ENV && e["spec"]["max_turns"].is_u64()));
    let (batch, created) = server.create(json!({"env": ENV, "size": 3, "seed": 7}));
    assert_eq!(created["observations"].as_array().unwrap().len(), 3);
    assert_eq!(created["infos"][2]["episode"], 2);
    let script = ["Is it alive?", "Is it an animal?", "Is it a dog?", "Is it a cat?"];
    let mut actions = Vec::new();
    for turn in 0..100 {
        let action = script[turn.min(script.len() - 1)];
        let (status, response) = server.post(
            &format!("/batches/{batch}/step"),
            &json!({"actions": [{"slot": 0, "action": action}, {"slot": 2, "action": "Is it big?"}]}),
        );
        assert_eq!(status, 200, "{response}");
        actions.push(action.to_owned());
        let step = &response["steps"][0];
        assert_eq!(step["slot"], 0);
        if step["terminated"] == true || step["truncated"] == true {
            break;
        }
    }
    let (status, served) = server.get(&format!("/batches/{batch}/slots/0/transcript"));
    assert_eq!(status, 200, "{served}");
    let kind = envs::registry().make(ENV, None).unwrap();
    let record = sim_core::replay(kind.as_ref(), Episode { index: 0, seed: episode_seed(7, 0) }, &actions);
    assert_eq!(served["transcript"], serde_json::to_value(&record.transcript).unwrap());
    let (status, _) = server.request("DELETE", &format!("/batches/{batch}"), None);
    assert_eq!(status, 200);
    assert_eq!(server.get(&format!("/batches/{batch}/slots/0/transcript")).0, 404);
}

#[test]
fn autoreset_modes_keep_the_terminal_observation() {
    let server = Server::start(&[]);
    let config = "(max_questions: 1)";
    let (same, _) =
        server.create(json!({"env": ENV, "config": config, "size": 1, "seed": 3, "autoreset": "same_step"}));
    let (_, response) =
        server.post(&format!("/batches/{same}/step"), &json!({"actions": [{"slot": 0, "action": "Is it alive?"}]}));
    let step = &response["steps"][0];
    assert!(step["terminated"] == true || step["truncated"] == true, "{step}");
    assert!(step["info"]["final_observation"].is_string(), "{step}");
    assert_eq!(step["info"]["autoreset"], true);

    let (off, _) = server.create(json!({"env": ENV, "config": config, "size": 2, "seed": 3, "autoreset": "disabled"}));
    let step_path = format!("/batches/{off}/step");
    let (status, _) = server.post(&step_path, &json!({"actions": [{"slot": 0, "action": "Is it alive?"}]}));
    assert_eq!(status, 200);
    let (status, error) = server.post(&step_path, &json!({"actions": [{"slot": 0, "action": "Is it alive?"}]}));
    assert_eq!(status, 409, "{error}");
    assert!(error["error"].as_str().unwrap().contains("finished"), "{error}");
    let (status, reset) = server.post(&format!("/batches/{off}/reset"), &json!({"slots": [0]}));
    assert_eq!(status, 200, "{reset}");
    assert_eq!(reset["infos"][0]["episode"], 2, "slot 0's second episode is scenario episode 1 * size + 0");
    let (status, reset) = server.post(&format!("/batches/{off}/reset"), &json!({"seed": 3}));
    assert_eq!(status, 200);
    assert_eq!(reset["slots"], json!([0, 1]));
}

/// `--max-action-bytes`: a longer action is invalid and its transcript entry is clipped.
#[test]
fn the_maximum_action_size_is_a_server_setting() {
    let server = Server::start(&["--max-action-bytes", "8"]);
    assert_eq!(server.get("/stats").1["limits"]["max_action_bytes"], 8);
    let (batch, _) = server.create(json!({"env": ENV, "size": 1, "seed": 2}));
    let step_path = format!("/batches/{batch}/step");
    let (status, response) = server.post(&step_path, &json!({"actions": [{"slot": 0, "action": "Is it a dog?"}]}));
    assert_eq!(status, 200, "{response}");
    let step = &response["steps"][0];
    assert_eq!(step["info"]["invalid_action"], true, "{step}");
    assert!(step["observation"].as_str().unwrap().contains("over the limit of 8 bytes"), "{step}");
    let (status, served) = server.get(&format!("/batches/{batch}/slots/0/transcript"));
    assert_eq!(status, 200);
    assert_eq!(served["transcript"][1]["text"], "Is it a … [truncated: 12 bytes]");
    let (status, _) = server.post(&step_path, &json!({"actions": [{"slot": 0, "action": "Dog?"}]}));
    assert_eq!(status, 200);
    let (_, served) = server.get(&format!("/batches/{batch}/slots/0/transcript"));
    assert_eq!(served["transcript"][3]["text"], "Dog?", "an action within the limit is stored whole");
}

#[test]
fn websocket_carries_the_step_loop() {
    let server = Server::start(&[]);
    let (batch, _) = server.create(json!({"env": ENV, "size": 2, "seed": 1}));
    let (mut socket, _) = tungstenite::connect(format!("ws://{}/batches/{batch}/ws", server.addr)).unwrap();
    let mut exchange = |text: String| -> Value {
        socket.send(tungstenite::Message::text(text)).unwrap();
        let reply = socket.read().unwrap();
        serde_json::from_str(reply.to_text().unwrap()).unwrap()
    };
    let reply = exchange(json!({"actions": [{"slot": 1, "action": "Is it alive?"}]}).to_string());
    assert_eq!(reply["steps"][0]["slot"], 1);
    assert_eq!(reply["steps"][0]["info"]["turn"], 1);
    let error = exchange("{not json".into());
    assert!(error["error"].is_string(), "{error}");
    let error = exchange(json!({"actions": [{"slot": 9, "action": "x"}]}).to_string());
    assert!(error["error"].as_str().unwrap().contains("slot 9"), "{error}");
    let reply = exchange(json!({"actions": [{"slot": 1, "action": "Is it an animal?"}]}).to_string());
    assert_eq!(reply["steps"][0]["info"]["turn"], 2, "the connection survives errors");
    assert_eq!(server.get("/batches/999/ws").0, 404);
}

#[test]
fn python_example_plays_against_the_server() {
    let python = Command::new("python3").arg("--version").output();
    if !python.is_ok_and(|output| output.status.success()) {
        eprintln!("python3 is not available: skipped");
        return;
    }
    let server = Server::start(&[]);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/twenty_questions_client.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(format!("http://{}", server.addr))
        .args(["--episodes", "4"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("mean return"), "{stdout}");
    assert_eq!(server.get("/stats").1["live_batches"], 0, "the example closes its batch");
}

/// 64 clients at once, each playing 20 short episodes on its own batch of 10 slots.
#[test]
fn many_concurrent_clients_lose_no_episodes() {
    let server = Server::start(&[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let finished: Vec<Vec<u64>> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..64u64)
            .map(|client| {
                let server = &server;
                scope.spawn(move || {
                    let (batch, _) =
                        server.create(json!({"env": ENV, "config": "(max_questions: 3)", "size": 10, "seed": client}));
                    let mut ended = Vec::new();
                    let actions: Vec<Value> =
                        (0..10).map(|slot| json!({"slot": slot, "action": "Is it a dog?"})).collect();
                    while ended.len() < 20 {
                        assert!(Instant::now() < deadline, "client {client} ran past the deadline");
                        let (status, response) =
                            server.post(&format!("/batches/{batch}/step"), &json!({"actions": actions}));
                        assert_eq!(status, 200, "{response}");
                        for step in response["steps"].as_array().unwrap() {
                            if step["terminated"] == true || step["truncated"] == true {
                                ended.push(step["info"]["episode"].as_u64().unwrap());
                            }
                        }
                    }
                    assert_eq!(server.request("DELETE", &format!("/batches/{batch}"), None).0, 200);
                    ended
                })
            })
            .collect();
        clients.into_iter().map(|client| client.join().unwrap()).collect()
    });
    for mut ended in finished {
        ended.sort_unstable();
        assert_eq!(ended, (0..20).collect::<Vec<_>>(), "every episode index played exactly once");
    }
    let (_, stats) = server.get("/stats");
    assert_eq!(stats["live_batches"], 0, "{stats}");
    assert_eq!(stats["live_episodes"], 0, "{stats}");
}

/// Malformed and hostile requests get 4xx JSON errors and the server keeps serving.
#[test]
fn bad_requests_are_4xx_and_the_server_survives() {
    let server = Server::start(&["--max-batch-size", "8", "--max-server-episodes", "9"]);
    let (batch, _) = server.create(json!({"env": ENV, "size": 2, "seed": 0}));
    let step = format!("/batches/{batch}/step");
    let huge = format!("{{\"env\": \"{}\"}}", "x".repeat(2 << 20));
    let cases: Vec<(&str, String, Option<Vec<u8>>, u16)> = vec![
        ("POST", "/batches".into(), Some(b"{\"env\": \"twenty_q".to_vec()), 400),
        ("POST", "/batches".into(), Some(b"".to_vec()), 400),
        ("POST", "/batches".into(), Some(br#"{"env": 5, "size": 1, "seed": 0}"#.to_vec()), 400),
        ("POST", "/batches".into(), Some(br#"{"env": "nope-v0", "size": 1, "seed": 0}"#.to_vec()), 404),
        ("POST", "/batches".into(), Some(br#"{"env": "twenty_questions-v0", "size": -1, "seed": 0}"#.to_vec()), 400),
        ("POST", "/batches".into(), Some(br#"{"env": "twenty_questions-v0", "size": 0, "seed": 0}"#.to_vec()), 400),
        ("POST", "/batches".into(), Some(br#"{"env": "twenty_questions-v0", "size": 9, "seed": 0}"#.to_vec()), 400),
        ("POST", "/batches".into(), Some(br#"{"env": "twenty_questions-v0", "size": 8, "seed": 0}"#.to_vec()), 429),
        (
            "POST",
            "/batches".into(),
            Some(br#"{"env": "twenty_questions-v0", "config": "(max_questions: ", "size": 1, "seed": 0}"#.to_vec()),
            400,
        ),
        ("POST", "/batches".into(), Some(huge.into_bytes()), 413),
        ("POST", step.clone(), Some(br#"{"actions": [{"slot": 5, "action": "a"}]}"#.to_vec()), 400),
        (
            "POST",
            step.clone(),
            Some(br#"{"actions": [{"slot": 0, "action": "a"}, {"slot": 0, "action": "b"}]}"#.to_vec()),
            400,
        ),
        ("POST", step.clone(), Some(br#"{"actions": [{"slot": 0, "action": 3}]}"#.to_vec()), 400),
        ("POST", step, Some(br#"{"actions": "all"}"#.to_vec()), 400),
        ("POST", "/batches/12345/step".into(), Some(br#"{"actions": []}"#.to_vec()), 404),
        ("POST", "/batches/abc/step".into(), Some(br#"{"actions": []}"#.to_vec()), 404),
        ("POST", format!("/batches/{batch}/reset"), Some(br#"{"seed": 1, "slots": [0]}"#.to_vec()), 400),
        ("POST", format!("/batches/{batch}/reset"), Some(br#"{"slots": [7]}"#.to_vec()), 400),
        ("GET", format!("/batches/{batch}/slots/7/transcript"), None, 404),
        ("GET", format!("/batches/{batch}/slots/x/transcript"), None, 404),
        ("DELETE", "/batches/424242".into(), None, 404),
        ("GET", "/nowhere".into(), None, 404),
    ];
    for (method, path, body, expected) in cases {
        let (status, response) = server.request(method, &path, body.as_deref());
        assert_eq!(status, expected, "{method} {path}: {response}");
        assert!(response["error"].is_string(), "{method} {path}: {status} without a JSON error: {response}");
    }
    let (status, envs) = server.get("/envs");
    assert_eq!(status, 200);
    assert!(envs["envs"].is_array());
    assert_eq!(server.get("/stats").1["live_batches"], 1);
}

#[test]
fn idle_batches_are_closed() {
    let server = Server::start(&["--idle-timeout", "0.5"]);
    server.create(json!({"env": ENV, "size": 2, "seed": 0}));
    assert_eq!(server.get("/stats").1["live_batches"], 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.get("/stats").1["live_batches"] != 0 {
        assert!(Instant::now() < deadline, "the idle batch was never closed");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One OpenEnv WebSocket session.
struct OpenEnvSession {
    socket: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>,
}

impl OpenEnvSession {
    fn open(server: &Server, env: &str) -> Self {
        let (socket, _) = tungstenite::connect(format!("ws://{}/openenv/{env}/ws", server.addr)).unwrap();
        Self { socket }
    }

    fn exchange(&mut self, text: String) -> Value {
        self.socket.send(tungstenite::Message::text(text)).unwrap();
        self.receive()
    }

    fn receive(&mut self) -> Value {
        loop {
            match self.socket.read().unwrap() {
                tungstenite::Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
                tungstenite::Message::Close(_) => return Value::Null,
                _ => {}
            }
        }
    }
}

/// The OpenEnv session plays the scenario episode its seed and index name, over WebSocket and
/// over named HTTP episodes alike.
#[test]
fn openenv_sessions_play_the_episode_their_seed_names() {
    let server = Server::start(&[]);
    let actions = ["Is it alive?", "Is it an animal?", "Is it a dog?"].map(String::from);
    let kind = envs::registry().make(ENV, None).unwrap();
    let record = sim_core::replay(kind.as_ref(), Episode { index: 2, seed: episode_seed(7, 2) }, &actions);

    let mut session = OpenEnvSession::open(&server, ENV);
    let reset = session.exchange(json!({"type": "reset", "data": {"seed": 7, "episode_index": 2}}).to_string());
    assert_eq!(reset["type"], "observation", "{reset}");
    assert_eq!(reset["data"]["reward"], Value::Null);
    assert_eq!(reset["data"]["observation"]["info"]["episode"], 2);
    let mut last = Value::Null;
    for action in &actions {
        last = session.exchange(json!({"type": "step", "data": {"message": action}}).to_string());
        assert_eq!(last["type"], "observation", "{last}");
    }
    assert_eq!(last["data"]["observation"]["transcript"], serde_json::to_value(&record.transcript).unwrap());
    let state = session.exchange(json!({"type": "state"}).to_string());
    assert_eq!(state["data"]["step_count"], 3, "{state}");
    assert_eq!(state["data"]["seed"], 7);

    let path = |endpoint: &str| format!("/openenv/{ENV}/{endpoint}");
    let (status, _) = server.post(&path("reset"), &json!({"seed": 7, "episode_index": 2, "episode_id": "a"}));
    assert_eq!(status, 200);
    for action in &actions {
        let (status, step) = server.post(&path("step"), &json!({"action": {"message": action}, "episode_id": "a"}));
        assert_eq!(status, 200, "{step}");
        last = step;
    }
    assert_eq!(last["observation"]["transcript"], serde_json::to_value(&record.transcript).unwrap());
    let (status, state) = server.get(&format!("{}?episode_id=a", path("state")));
    assert_eq!((status, &state["step_count"]), (200, &json!(3)), "{state}");
    assert_eq!(server.get(&path("health")).1["status"], "healthy");
    let (status, schema) = server.get(&path("schema"));
    assert_eq!(status, 200);
    assert_eq!(schema["action"]["required"], json!(["message"]));
    assert!(server.get(&path("metadata")).1["description"].is_string());
    assert!(server.get(&path("openapi.json")).1["paths"]["/step"].is_object());
    assert_eq!(server.get("/openenv/no_such_env-v0/health").0, 404);
}

/// Every bad message gets the protocol's error code and the session goes on.
#[test]
fn openenv_bad_messages_get_error_codes_and_the_session_survives() {
    let server = Server::start(&[]);
    let mut session = OpenEnvSession::open(&server, ENV);
    let code = |reply: Value| reply["data"]["code"].as_str().map(str::to_owned).unwrap_or_else(|| panic!("{reply}"));
    assert_eq!(code(session.exchange("{not json".into())), "INVALID_JSON");
    assert_eq!(code(session.exchange(json!({"type": "jump"}).to_string())), "UNKNOWN_TYPE");
    assert_eq!(code(session.exchange(json!({"data": {}}).to_string())), "UNKNOWN_TYPE");
    assert_eq!(
        code(session.exchange(json!({"type": "step", "data": {"message": "x"}}).to_string())),
        "EXECUTION_ERROR"
    );
    assert_eq!(code(session.exchange(json!({"type": "reset", "data": {"seed": -1}}).to_string())), "VALIDATION_ERROR");
    assert_eq!(code(session.exchange(json!({"type": "reset", "data": {"sed": 1}}).to_string())), "VALIDATION_ERROR");
    assert_eq!(
        code(session.exchange(json!({"type": "reset", "data": {"config": "(max_questions: oops)"}}).to_string())),
        "VALIDATION_ERROR"
    );
    let reset =
        session.exchange(json!({"type": "reset", "data": {"seed": 1, "config": "(max_questions: 1)"}}).to_string());
    assert_eq!(reset["type"], "observation", "{reset}");
    assert_eq!(code(session.exchange(json!({"type": "step", "data": {"text": "x"}}).to_string())), "VALIDATION_ERROR");
    assert_eq!(code(session.exchange(json!({"type": "step"}).to_string())), "VALIDATION_ERROR");
    let step = session.exchange(json!({"type": "step", "data": {"message": "Is it alive?"}}).to_string());
    assert_eq!(step["data"]["done"], true, "one question ends the episode: {step}");
    assert_eq!(
        code(session.exchange(json!({"type": "step", "data": {"message": "x"}}).to_string())),
        "EXECUTION_ERROR"
    );
    let reset = session.exchange(json!({"type": "reset"}).to_string());
    assert_eq!(reset["data"]["observation"]["info"]["episode"], 1, "a reset without a seed plays the next episode");
    assert_eq!(server.get(&format!("/openenv/{ENV}/health")).0, 200);
}

/// Sessions past `--max-sessions` get `CAPACITY_REACHED`; closed and idle ones free their slot.
#[test]
fn openenv_sessions_are_limited_and_idle_ones_are_closed() {
    let server = Server::start(&["--max-sessions", "2", "--idle-timeout", "2"]);
    let mut first = OpenEnvSession::open(&server, ENV);
    let mut second = OpenEnvSession::open(&server, ENV);
    // A session holds its slot once its first message is answered.
    assert_eq!(first.exchange(json!({"type": "reset"}).to_string())["type"], "observation");
    assert_eq!(second.exchange(json!({"type": "state"}).to_string())["type"], "state");
    let mut third = OpenEnvSession::open(&server, ENV);
    let refused = third.receive();
    assert_eq!(refused["data"]["code"], "CAPACITY_REACHED", "{refused}");
    let (status, _) = server.post(&format!("/openenv/{ENV}/reset"), &json!({"episode_id": "x"}));
    assert_eq!(status, 503, "named HTTP episodes count against the same limit");
    assert_eq!(first.exchange(json!({"type": "close"}).to_string()), Value::Null);
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.get("/stats").1["openenv_sessions"] != 0 {
        assert!(Instant::now() < deadline, "closed and idle sessions were never released");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut fourth = OpenEnvSession::open(&server, ENV);
    assert_eq!(fourth.exchange(json!({"type": "reset"}).to_string())["type"], "observation");
}
