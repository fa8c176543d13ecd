//! Builders of errors and policies that the unit tests of several files share.

use std::sync::Arc;
use std::time::Duration;

use ureq::http;

use crate::endpoint::Endpoint;
use crate::settings::RetryPolicy;
use crate::{ApiError, Error, TransportError};

pub(crate) fn transport(source: ureq::Error) -> TransportError {
    TransportError {
        source,
        attempts: 1,
        endpoint: Arc::new(Endpoint {
            host: "api.example".to_owned(),
            address: "api.example:443".to_owned(),
            proxy: None,
        }),
        creates: false,
        answered: None,
        processed_before: false,
    }
}

pub(crate) fn api(status: u16, retry_after: Option<u64>) -> Error {
    let mut error = ApiError::from_answer(status, &http::HeaderMap::new(), b"", "secret");
    error.retry_after = retry_after.map(Duration::from_secs);
    Error::Api(Box::new(error))
}

pub(crate) fn policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(8),
        max_retry_after: Duration::from_secs(60),
        max_rate_limit_wait: Duration::from_secs(120),
    }
}
