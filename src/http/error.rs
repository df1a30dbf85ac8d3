//! The HTTP errors and the one place that turns a rejection into a status code.

use std::convert::Infallible;

use warp::http::StatusCode;
use warp::{Rejection, Reply};

/// What a request can do wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A query parameter has a value the server does not understand.
    #[error("bad query: {0}")]
    BadQuery(String),
    /// No frame exists yet (only in the first moments after start).
    #[error("no frame is ready yet")]
    NotReady,
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
