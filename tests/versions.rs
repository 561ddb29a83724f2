//! Version documents, where Nova serves them, with links to the request's host.
mod common;
use common::*;
use serde_json::json;

fn v21_doc() -> serde_json::Value {
    json!({"version": {
        "id": "v2.1", "status": "CURRENT", "version": "2.104", "min_version": "2.1",
        "updated": "2013-07-23T11:33:21Z",
        "links": [
            {"rel": "self", "href": "http://porthole.test/v2.1/"},
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}
        ],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}]
    }})
}

#[tokio::test]
async fn root_lists_both_versions_without_api_headers() {
    let app = TestApp::new().await;
    for method in ["GET", "POST", "DELETE"] {
        let r = app
            .send(
                method,
                "/",
                &[("OpenStack-API-Version", "compute 2.105")],
                None,
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.text(),
            r#"{"versions": [{"id": "v2.0", "status": "DEPRECATED", "version": "", "min_version": "", "updated": "2025-07-04T12:00:00Z", "links": [{"rel": "self", "href": "http://porthole.test/v2/"}]}, {"id": "v2.1", "status": "CURRENT", "version": "2.104", "min_version": "2.1", "updated": "2013-07-23T11:33:21Z", "links": [{"rel": "self", "href": "http://porthole.test/v2.1/"}]}]}"#
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        for absent in ["openstack-api-version", "x-openstack-request-id", "vary"] {
            assert!(r.header(absent).is_none(), "{absent} on GET /");
        }
    }
}

#[tokio::test]
async fn v21_document_in_every_form() {
    let app = TestApp::new().await;
    for path in [
        "/v2.1",
        "/v2.1/",
        &format!("/v2.1/{PROJECT}/"),
        "/v2.1/versions/v2.1",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.json(), v21_doc(), "{path}");
        assert_eq!(r.header("openstack-api-version"), Some("compute 2.1"));
        assert!(r.request_id().starts_with("req-"));
    }
    let r = app.get_v("/v2.1/", "latest").await;
    assert_eq!(r.header("openstack-api-version"), Some("compute 2.104"));
    app.get_v("/v2.1/", "2.105").await.assert_fault(
        406,
        "computeFault",
        "Version 2.105 is not supported by the API. Minimum is 2.1 and maximum is 2.104.",
    );
}

#[tokio::test]
async fn v20_document_has_no_microversion_headers() {
    let app = TestApp::new().await;
    for path in ["/v2", "/v2/"] {
        let r = app.get_v(path, "2.105").await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.json(),
            json!({"version": {
                "id": "v2.0", "status": "DEPRECATED", "version": "", "min_version": "",
                "updated": "2025-07-04T12:00:00Z",
                "links": [
                    {"rel": "self", "href": "http://porthole.test/v2/"},
                    {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}
                ],
                "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"}]
            }})
        );
        assert!(r.header("openstack-api-version").is_none());
        assert!(r.header("x-openstack-request-id").is_some());
    }
}

#[tokio::test]
async fn where_nova_has_no_document() {
    let app = TestApp::new().await;
    for path in [
        format!("/v2.1/{PROJECT}"),
        "/v2.1/versions".into(),
        format!("/v2/{PROJECT}"),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(
            r.text(),
            "404 Not Found\n\nThe resource could not be found.\n\n   "
        );
    }
    app.get("/v2.1/versions/v3").await.assert_fault(
        404,
        "itemNotFound",
        "The resource could not be found.",
    );
    // Nova's quirk: the v2.0 document fetched under /v2.1 links to /v2.1/.
    let r = app.get("/v2.1/versions/v2.0").await;
    assert_eq!(
        r.json()["version"]["links"][0]["href"],
        "http://porthole.test/v2.1/"
    );
    assert_eq!(r.json()["version"]["id"], "v2.0");
}

#[tokio::test]
async fn other_paths_offer_choices() {
    let app = TestApp::new().await;
    let r = app.get("/foo").await;
    assert_eq!(r.status, 300);
    assert_eq!(
        r.json(),
        json!({"choices": [
            {"id": "v2.0", "status": "DEPRECATED", "links": [{"rel": "self", "href": "http://porthole.test/v2/foo"}],
             "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"}]},
            {"id": "v2.1", "status": "CURRENT", "links": [{"rel": "self", "href": "http://porthole.test/v2.1/foo"}],
             "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}]}
        ]})
    );
}
