//! The HTTP errors and the one place that turns a rejection into a status code.

use std::convert::Infallible;

use warp::http::{HeaderValue, StatusCode, header};
use warp::{Rejection, Reply};

/// Seconds a client turned away for being one too many is asked to wait.
pub const RETRY_AFTER_SECS: u32 = 10;

/// What a request can do wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A query parameter has a value the server does not understand.
    #[error("bad query: {0}")]
    BadQuery(String),
    /// No frame exists yet (only in the first moments after start).
    #[error("no frame is ready yet")]
    NotReady,
    /// `?profile=` or `/p/NAME/` names no profile; the text says which ones there are.
    #[error("{0}")]
    UnknownProfile(String),
}

impl warp::reject::Reject for Error {}

/// Maps every rejection to a plain-text response with the right status.
pub async fn recover(rejection: Rejection) -> Result<impl Reply, Infallible> {
    let (status, message) = if rejection.is_not_found() {
        (StatusCode::NOT_FOUND, "not found".to_string())
    } else if let Some(e) = rejection.find::<Error>() {
        let status = match e {
            Error::BadQuery(_) => StatusCode::BAD_REQUEST,
            Error::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            Error::UnknownProfile(_) => StatusCode::NOT_FOUND,
        };
        (status, e.to_string())
    } else if let Some(e) = rejection.find::<warp::reject::InvalidQuery>() {
        (StatusCode::BAD_REQUEST, format!("bad query: {e}"))
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed".to_string(),
        )
    } else {
        tracing::error!("unhandled rejection: {rejection:?}");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error".to_string(),
        )
    };
    Ok(warp::reply::with_status(format!("{message}\n"), status))
}

/// 400 with the reason, for a response built outside a filter chain.
pub fn bad_request(error: &Error) -> warp::reply::Response {
    warp::reply::with_status(format!("{error}\n"), StatusCode::BAD_REQUEST).into_response()
}

/// 503 with `Retry-After`, for a server at one of its caps: a client that honours it comes
/// back later instead of hammering, and the connection is closed to free its slot.
pub fn busy(message: &str) -> warp::reply::Response {
    let mut response = warp::reply::Response::new(format!("{message}\n").into());
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let h = response.headers_mut();
    h.insert(header::RETRY_AFTER, RETRY_AFTER_SECS.into());
    h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
