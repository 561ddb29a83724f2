//! A minimal Glance v2 image API under `/image`: the version document,
//! list (with Glance's exact `name` filter) and show. Just enough for
//! clients to resolve `--image cirros-0.6.3-x86_64-disk` to an id.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};

use super::extract::{PathIn, Undecodable};
use super::response::{base_url, json_response, with_content_type};
use crate::app::AppState;
use crate::domain::catalog::Image;
use crate::domain::Caller;

/// Images are not created through porthole: one fixed time for all.
const IMAGE_TIME: &str = "2026-01-01T00:00:00Z";

fn visible(caller: &Caller, image: &Image) -> bool {
    image.visibility == "public"
        || image.visibility == "community"
        || caller.is_admin()
        || caller.project_id.as_deref() == Some(image.owner.as_str())
}

/// Glance's image object, in Glance's key order.
fn image_view(image: &Image) -> Value {
    json!({
        "status": "active",
        "name": image.name,
        "tags": [],
        "container_format": image.container_format,
        "created_at": IMAGE_TIME,
        "disk_format": image.disk_format,
        "updated_at": IMAGE_TIME,
        "visibility": image.visibility,
        "self": format!("/v2/images/{}", image.id),
        "min_disk": image.min_disk,
        "protected": false,
        "id": image.id,
        "file": format!("/v2/images/{}/file", image.id),
        "checksum": image.checksum,
        "os_hash_algo": null,
        "os_hash_value": null,
        "os_hidden": false,
        "owner": if image.owner.is_empty() { Value::Null } else { json!(image.owner) },
        "size": image.size,
        "min_ram": image.min_ram,
        "schema": "/v2/schemas/image",
        "virtual_size": null,
    })
}

/// `GET /image`: Glance's version document (300 Multiple Choices).
#[utoipa::path(
    get,
    path = "/image",
    tag = "image",
    responses((status = 300, description = "The image API versions: v2.16, current.", body = Object))
)]
pub async fn image_versions(headers: HeaderMap) -> Response {
    let body = json!({"versions": [{
        "id": "v2.16",
        "status": "CURRENT",
        "links": [{"rel": "self", "href": format!("{}/image/v2/", base_url(&headers))}],
    }]});
    json_response(StatusCode::MULTIPLE_CHOICES, &body)
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    /// Exactly this name.
    pub name: Option<String>,
}

/// `GET /image/v2/images`: the images the caller may see.
#[utoipa::path(
    get,
    path = "/image/v2/images",
    tag = "image",
    params(ImageQuery),
    responses(
        (status = 200, description = "`images`, `first`, `schema`.", body = Object),
        (status = 401, description = "No valid token."),
    )
)]
pub async fn list_images(
    State(app): State<AppState>,
    Extension(caller): Extension<std::sync::Arc<Caller>>,
    Query(query): Query<ImageQuery>,
) -> Response {
    let images: Vec<Value> = app
        .options
        .catalog
        .images
        .iter()
        .filter(|i| visible(&caller, i))
        .filter(|i| query.name.as_ref().is_none_or(|n| *n == i.name))
        .map(image_view)
        .collect();
    let first = match &query.name {
        Some(name) => format!(
            "/v2/images?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("name", name)
                .finish()
        ),
        None => "/v2/images".to_owned(),
    };
    json_response(
        StatusCode::OK,
        &json!({"images": images, "first": first, "schema": "/v2/schemas/images"}),
    )
}

/// `GET /image/v2/images/{image_id}`: one image; Glance's 404 page otherwise.
#[utoipa::path(
    get,
    path = "/image/v2/images/{image_id}",
    tag = "image",
    params(("image_id" = String, Path, description = "The image's id.")),
    responses(
        (status = 200, description = "The image.", body = Object),
        (status = 401, description = "No valid token."),
        (status = 404, description = "`No image found with ID <id>` (text)."),
    )
)]
pub async fn show_image(
    State(app): State<AppState>,
    Extension(caller): Extension<std::sync::Arc<Caller>>,
    PathIn(image_id, _): PathIn<Glance, String>,
) -> Response {
    match app
        .options
        .catalog
        .image(&image_id)
        .filter(|i| visible(&caller, i))
    {
        Some(image) => json_response(StatusCode::OK, &image_view(image)),
        None => not_found(&image_id),
    }
}

/// Glance's 404 page.
fn not_found(image_id: &str) -> Response {
    with_content_type(
        StatusCode::NOT_FOUND,
        format!("404 Not Found\n\nNo image found with ID {image_id}\n\n   "),
        "text/plain; charset=UTF-8",
    )
}

/// Glance's answer to an id it cannot decode: no such image.
pub struct Glance;

impl Undecodable for Glance {
    fn response(parts: &axum::http::request::Parts) -> Response {
        let id = parts.uri.path().rsplit('/').next().unwrap_or_default();
        not_found(id)
    }
}
