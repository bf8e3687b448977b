//! The authorization matrix: every conversation route and write frame, for
//! each of seven people — the group's owner, an admin, a member, a muted
//! member, a banned user, an outsider, and a user the other side of a
//! direct conversation blocks (who acts in that conversation). Each cell
//! runs on a world of its own, so no cell sees another's effects; the
//! answers are compared with the expected table as a whole, so a failure
//! shows every cell that differs.

mod common;

use chat_engine::{ChatConfig, RateLimits};
use common::TestServer;
use serde_json::{Value, json};

/// The people, in the table's column order.
const PEOPLE: [&str; 7] = [
    "owner", "admin", "member", "muted", "banned", "outsider", "blocked",
];

/// One world: a group `team` (owner, admin, member, muted, zoe; banned is
/// banned) where the owner sent seq 1, and a direct conversation of owner
/// and blocked, which the owner blocks, where the owner sent seq 1 too.
struct World {
    server: TestServer,
    team: String,
    direct: String,
    /// The seq of the owner's message in `team` and in `direct`.
    team_seq: u64,
    direct_seq: u64,
}

impl World {
    async fn new() -> Self {
        let config = ChatConfig::default().with_rates(RateLimits::none());
        let server = TestServer::start_configured(config, chat_axum::WsConfig::default()).await;
        let team = server
            .group("owner", &["admin", "member", "muted", "zoe"])
            .await;
        let at = |path: &str| format!("/conversations/{team}{path}");
        let ok = |(status, body): (u16, Value)| assert!(status < 300, "{status} {body}");
        ok(server
            .request(
                reqwest::Method::PUT,
                Some("owner"),
                &at("/members/admin/role"),
                Some(json!({"role": "admin"}).to_string().into()),
            )
            .await);
        ok(server.put("owner", &at("/mutes/muted")).await);
        ok(server.put("owner", &at("/bans/banned")).await);
        let team_seq = server.send("owner", &team, "hello team").await["seq"]
            .as_u64()
            .unwrap();
        let direct = server.direct("owner", "blocked").await;
        let direct_seq = server.send("owner", &direct, "hello you").await["seq"]
            .as_u64()
            .unwrap();
        ok(server.put("owner", "/blocks/blocked").await);
        Self {
            server,
            team,
            direct,
            team_seq,
            direct_seq,
        }
    }

    /// The conversation `person` acts in, and the seq of the owner's message there.
    fn conversation_of(&self, person: &str) -> (&str, u64) {
        if person == "blocked" {
            (&self.direct, self.direct_seq)
        } else {
            (&self.team, self.team_seq)
        }
    }
}

/// What each person gets: an HTTP status, or for frames `ok` / the error
/// frame's code. The blocked user acts in their direct conversation, where
/// there are no roles (400 for group-only routes).
const EXPECTED: &str = "
action                     | owner     admin     member    muted     banned    outsider  blocked
GET conversation           | 200       200       200       200       403       403       200
GET history                | 200       200       200       200       403       403       200
GET events                 | 200       200       200       200       403       403       200
GET reads                  | 200       200       200       200       403       403       200
POST read                  | 200       200       200       200       403       403       200
POST message               | 201       201       201       403       403       403       403
PATCH the owner's message  | 200       403       403       403       403       403       403
PUT reaction               | 200       200       200       403       403       403       403
PUT pin                    | 200       200       200       403       403       403       403
PATCH title                | 200       200       403       403       403       403       400
POST member                | 201       201       403       403       403       403       400
DELETE member zoe          | 204       204       403       403       403       403       400
DELETE member owner        | 204       403       403       403       403       403       400
PUT role                   | 200       403       403       403       403       403       400
PUT owner                  | 200       403       403       403       403       403       400
PUT settings               | 200       200       403       403       403       403       400
PATCH preferences          | 200       200       200       200       403       403       200
GET bans                   | 200       200       403       403       403       403       403
PUT ban                    | 200       200       403       403       403       403       400
DELETE ban                 | 200       200       403       403       403       403       400
PUT mute                   | 200       200       403       403       403       403       400
DELETE conversation        | 204       204       403       403       403       403       400
PUT direct with the owner  | 400       200       200       200       200       200       403
frame send                 | ok        ok        ok        forbidden forbidden forbidden forbidden
frame react                | ok        ok        ok        forbidden forbidden forbidden forbidden
frame edit                 | ok        forbidden forbidden forbidden forbidden forbidden forbidden
";

/// [`EXPECTED`] as rows: the action, and what each of [`PEOPLE`] gets.
fn expected() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut lines = EXPECTED.lines().filter(|line| !line.trim().is_empty());
    let header = lines.next().unwrap();
    let columns: Vec<&str> = header
        .split('|')
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(columns, PEOPLE, "the table's columns are the people");
    lines
        .map(|line| {
            let (action, cells) = line.split_once('|').unwrap();
            let cells: Vec<&str> = cells.split_whitespace().collect();
            assert_eq!(cells.len(), PEOPLE.len(), "{action}");
            (action.trim(), cells)
        })
        .collect()
}

/// Runs `action` as `person` in a fresh world; what they got.
async fn outcome(action: &str, person: &str) -> String {
    let world = World::new().await;
    let server = &world.server;
    let (cid, seq) = world.conversation_of(person);
    let at = |path: &str| format!("/conversations/{cid}{path}");
    let with_body = |method: reqwest::Method, path: String, body: Value| async move {
        server
            .request(method, Some(person), &path, Some(body.to_string().into()))
            .await
    };
    use reqwest::Method;
    let (status, _) = match action {
        "GET conversation" => server.get(person, &at("")).await,
        "GET history" => server.get(person, &at("/messages")).await,
        "GET events" => server.get(person, &at("/events?after=0")).await,
        "GET reads" => server.get(person, &at("/reads")).await,
        "POST read" => server.post(person, &at("/read"), json!({"seq": seq})).await,
        "POST message" => {
            server
                .post(person, &at("/messages"), json!({"body": "hi"}))
                .await
        }
        "PATCH the owner's message" => {
            server
                .patch(
                    person,
                    &at(&format!("/messages/{seq}")),
                    json!({"body": "mine now"}),
                )
                .await
        }
        "PUT reaction" => {
            server
                .put(person, &at(&format!("/messages/{seq}/reactions/ok")))
                .await
        }
        "PUT pin" => server.put(person, &at(&format!("/pins/{seq}"))).await,
        "PATCH title" => {
            server
                .patch(person, &at(""), json!({"title": "ours"}))
                .await
        }
        "POST member" => {
            server
                .post(person, &at("/members"), json!({"user_id": "newcomer"}))
                .await
        }
        "DELETE member zoe" => server.delete(person, &at("/members/zoe")).await,
        "DELETE member owner" => server.delete(person, &at("/members/owner")).await,
        "PUT role" => {
            with_body(
                Method::PUT,
                at("/members/zoe/role"),
                json!({"role": "admin"}),
            )
            .await
        }
        "PUT owner" => with_body(Method::PUT, at("/owner"), json!({"user_id": "zoe"})).await,
        "PUT settings" => {
            with_body(
                Method::PUT,
                at("/settings"),
                json!({"members_can_add": true}),
            )
            .await
        }
        "PATCH preferences" => {
            server
                .patch(person, &at("/preferences"), json!({"archived": true}))
                .await
        }
        "GET bans" => server.get(person, &at("/bans")).await,
        "PUT ban" => server.put(person, &at("/bans/zoe")).await,
        "DELETE ban" => server.delete(person, &at("/bans/banned")).await,
        "PUT mute" => server.put(person, &at("/mutes/zoe")).await,
        "DELETE conversation" => server.delete(person, &at("")).await,
        "PUT direct with the owner" => server.put(person, "/direct/owner").await,
        frame => return frame_outcome(server, person, cid, seq, frame).await,
    };
    status.to_string()
}

/// Sends a write frame as `person`; `ok`, or the error frame's code.
async fn frame_outcome(
    server: &TestServer,
    person: &str,
    cid: &str,
    seq: u64,
    frame: &str,
) -> String {
    let mut socket = server.ws(person).await;
    let (frame, answer) = match frame {
        "frame send" => (
            json!({"type": "send", "conversation_id": cid, "body": "hi", "client_id": "f"}),
            "ack",
        ),
        "frame react" => (
            json!({"type": "react", "conversation_id": cid, "seq": seq, "reaction": "ok", "client_id": "f"}),
            "done",
        ),
        "frame edit" => (
            json!({"type": "edit", "conversation_id": cid, "seq": seq, "body": "x", "client_id": "f"}),
            "done",
        ),
        other => panic!("no such action {other}"),
    };
    socket.send(frame).await;
    loop {
        let event = socket.next_event().await;
        if event["type"] == answer && event["client_id"] == "f" {
            return "ok".to_owned();
        }
        if event["type"] == "error" && event["client_id"] == "f" {
            return event["error"]["code"].as_str().unwrap().to_owned();
        }
    }
}

#[tokio::test]
async fn every_route_and_frame_for_every_role() {
    let mut differences = Vec::new();
    for (action, expected) in expected() {
        for (person, want) in PEOPLE.iter().zip(expected) {
            let got = outcome(action, person).await;
            if got != want {
                differences.push(format!("{action} as {person}: got {got}, expected {want}"));
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[tokio::test]
async fn a_deleted_group_answers_not_found_and_its_members_are_told() {
    let world = World::new().await;
    let server = &world.server;
    let mut member = server.ws("member").await;
    let team = &world.team;
    assert_eq!(
        server
            .delete("admin", &format!("/conversations/{team}"))
            .await
            .0,
        204
    );
    let told = member.next_of("conversation_deleted").await;
    assert_eq!(
        told,
        json!({"type": "conversation_deleted", "conversation_id": team, "by": "admin"})
    );
    for path in ["", "/messages", "/events?after=0", "/reads"] {
        let (status, body) = server
            .get("owner", &format!("/conversations/{team}{path}"))
            .await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (404, &json!("not_found")),
            "{path}"
        );
    }
    let (_, listed) = server.get("member", "/conversations").await;
    let ids: Vec<&Value> = listed["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert!(!ids.contains(&&json!(team)), "{listed}");
}
