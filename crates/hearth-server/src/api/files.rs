//! Files: upload, download (with ranges), thumbnails, metadata and deletion.
//!
//! A file is visible to its uploader and to whoever can see a channel where a live
//! message shares it; to anyone else, in this workspace or another, every route answers
//! exactly as for a file that does not exist (`file_not_found`).

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, TryStreamExt};
use hearth_core::model::{File, User};
use hearth_core::permission;
use hearth_core::value::FileName;
use hearth_proto as wire;
use http_body_util::Limited;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::access;
use crate::auth::CurrentUser;
use crate::convert;
use crate::error::{ApiError, ApiResult, NotFound};
use crate::extract::{Json, Path, Query};
use crate::files::download::{self, ByteRange};
use crate::files::{StorageError, StorageKey, Upload, sniff};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// The file's name, for a raw body (required then); for a multipart upload it
    /// overrides the part's file name.
    pub name: Option<String>,
}

#[utoipa::path(
    post, path = "/api/v1/files", tag = "files",
    params(UploadParams),
    request_body(
        description = "The file: the raw bytes (with `?name=`), or `multipart/form-data` with a part named `file`.",
        content_type = "application/octet-stream", content = Vec<u8>,
    ),
    responses(
        (status = 201, description = "stored", body = wire::File),
        (status = 400, description = "file_missing, upload_interrupted", body = wire::ErrorBody),
        (status = 413, description = "file_too_large, quota_exceeded", body = wire::ErrorBody),
        (status = 422, description = "invalid_file_name", body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn upload(
    State(state): State<AppState>,
    me: CurrentUser,
    Query(params): Query<UploadParams>,
    request: Request,
) -> ApiResult<(StatusCode, Json<wire::File>)> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let file = if is_multipart {
        upload_multipart(&state, &me.user, params.name, request).await?
    } else {
        let name = params.name.ok_or_else(|| {
            ApiError::bad_request("file_name_missing", "Give the file's name as ?name=.")
        })?;
        let declared_len = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let upload = Upload {
            name: FileName::parse(&name)?,
            declared_len,
            body: request.into_body().into_data_stream(),
        };
        state
            .files
            .upload(state.store.clone(), &me.user, upload)
            .await?
    };
    Ok((StatusCode::CREATED, Json(convert::file(&file))))
}

/// What a multipart body may carry besides the file: boundaries, part headers, small
/// form fields.
const MULTIPART_OVERHEAD: u64 = 1024 * 1024;

/// The first part named `file` of a multipart body is the upload.
async fn upload_multipart(
    state: &AppState,
    me: &User,
    name: Option<String>,
    request: Request,
) -> ApiResult<File> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request("invalid_multipart", e.body_text())
    };
    // The file part is limited as it streams (`Files::upload`); the whole body, headers
    // and other parts included, may be only a little larger, so nothing multer buffers
    // (a part's headers, say) can grow past that.
    let limit = state
        .files
        .max_upload_bytes()
        .saturating_add(MULTIPART_OVERHEAD);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let request = request.map(|body| Body::new(Limited::new(body, limit)));
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::bad_request("invalid_multipart", e.body_text()))?;
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        if field.name() != Some("file") {
            continue;
        }
        let name = name
            .or_else(|| field.file_name().map(ToOwned::to_owned))
            .unwrap_or_default();
        let upload = Upload {
            name: FileName::parse(&name)?,
            declared_len: None,
            body: field.map_err(|e| e.body_text()).boxed(),
        };
        return state.files.upload(state.store.clone(), me, upload).await;
    }
    Err(ApiError::bad_request(
        "file_missing",
        "The multipart body has no part named file.",
    ))
}

#[utoipa::path(
    get, path = "/api/v1/files/{id}", tag = "files",
    params(("id" = String, Path, description = "file id")),
    responses(
        (status = 200, description = "the bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "the requested byte range"),
        (status = 304, description = "If-None-Match matched the ETag"),
        (status = 404, body = wire::ErrorBody),
        (status = 416, description = "the range starts past the end"),
    ),
    security(("bearer" = []))
)]
pub async fn download(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
    request_headers: HeaderMap,
) -> ApiResult<Response> {
    let file = access::file(&state, &me.user, &id).await?;
    let etag = download::etag(&file.sha256);
    let mut headers = download::file_headers(&file.mime_type, file.name.as_str(), &etag);
    if download::not_modified(&request_headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    let size = u64::try_from(file.size).unwrap_or_default();
    let range = if download::range_allowed(&request_headers, &etag) {
        ByteRange::parse(request_headers.get(header::RANGE), size)
    } else {
        ByteRange::Full
    };
    let (status, range) = match range {
        ByteRange::Full => (StatusCode::OK, None),
        ByteRange::Partial(r) => (StatusCode::PARTIAL_CONTENT, Some(r)),
        ByteRange::Unsatisfiable => {
            let mut response = (StatusCode::RANGE_NOT_SATISFIABLE, headers).into_response();
            if let Ok(v) = format!("bytes */{size}").parse() {
                response.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(response);
        }
    };
    let key = StorageKey::from_stored(file.storage_key.clone());
    let stored = state
        .files
        .storage
        .get(&key, range.clone())
        .await
        .map_err(storage_error)?;
    let served = stored.range.clone();
    headers.insert(header::CONTENT_LENGTH, (served.end - served.start).into());
    if range.is_some()
        && let Ok(v) = format!("bytes {}-{}/{size}", served.start, served.end - 1).parse()
    {
        headers.insert(header::CONTENT_RANGE, v);
    }
    Ok((status, headers, Body::from_stream(stored.body)).into_response())
}

fn storage_error(e: StorageError) -> ApiError {
    match e {
        // The row says the bytes exist; storage says not: lost bytes are our failure.
        StorageError::NotFound => ApiError::internal("a file's bytes are missing from storage"),
        other => ApiError::internal(other),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ThumbParams {
    /// 360 (the default) or 64 pixels wide.
    pub size: Option<u32>,
}

#[utoipa::path(
    get, path = "/api/v1/files/{id}/thumb", tag = "files",
    params(("id" = String, Path, description = "file id"), ThumbParams),
    responses(
        (status = 200, description = "a JPEG or PNG thumbnail", content_type = "image/jpeg", body = Vec<u8>),
        (status = 400, description = "invalid_thumb_size", body = wire::ErrorBody),
        (status = 404, description = "file_not_found, or the file has no thumbnail", body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn thumbnail(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
    Query(params): Query<ThumbParams>,
    request_headers: HeaderMap,
) -> ApiResult<Response> {
    let file = access::file(&state, &me.user, &id).await?;
    let key = StorageKey::from_stored(file.storage_key.clone());
    let key = match params.size.unwrap_or(360) {
        360 => key.thumb_large(),
        64 => key.thumb_small(),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_thumb_size",
                "Thumbnails are 360 or 64 pixels wide.",
            ));
        }
    };
    if !file.has_thumbnail {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "thumbnail_not_found",
            "This file has no thumbnail.",
        ));
    }
    let etag = download::etag(&format!("{}-{}", file.sha256, params.size.unwrap_or(360)));
    if download::not_modified(&request_headers, &etag) {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let bytes = state
        .files
        .storage
        .read_all(&key, 16 * 1024 * 1024)
        .await
        .map_err(storage_error)?;
    let mut headers = download::file_headers(sniff(&bytes), file.name.as_str(), &etag);
    headers.remove(header::ACCEPT_RANGES);
    Ok((StatusCode::OK, headers, bytes).into_response())
}

#[utoipa::path(
    get, path = "/api/v1/files/{id}/info", tag = "files",
    params(("id" = String, Path, description = "file id")),
    responses((status = 200, body = wire::FileInfo), (status = 404, body = wire::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn info(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::FileInfo>> {
    let file = access::file(&state, &me.user, &id).await?;
    Ok(Json(convert::file_info(&file)))
}

#[utoipa::path(
    delete, path = "/api/v1/files/{id}", tag = "files",
    params(("id" = String, Path, description = "file id")),
    responses(
        (status = 204, description = "deleted: gone from every message at once, its bytes soon after"),
        (status = 403, description = "not_file_owner", body = wire::ErrorBody),
        (status = 404, body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let file = access::file(&state, &me.user, &id).await?;
    permission::can_delete_file(&me.user, &file)?;
    state
        .store
        .delete_file(&me.user.workspace_id, &file.id)
        .await
        .map_err(|e| access::not_found_as(NotFound::File)(e.into()))?;
    Ok(StatusCode::NO_CONTENT)
}
