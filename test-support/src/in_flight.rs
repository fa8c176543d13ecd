//! A [`FaultServer`] that holds requests until enough are in flight
//! together, noting the most it ever held and the order they came in: the
//! check that bulk calls and jobs send in parallel, and no more than asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::{FaultServer, Reply, Request};

/// How an [`InFlightServer`] holds requests; [`InFlightServer::builder`] makes one.
#[derive(Debug, Clone)]
pub struct InFlightBuilder {
    wanted: usize,
    patience: Duration,
    methods: Option<&'static [&'static str]>,
    give_up: bool,
    first_goes: bool,
}

impl InFlightBuilder {
    /// Answers the first request of each method at once, unheld: a bulk call
    /// sends its first alone (to learn the rate limit before the rest go),
    /// and holding it would only wait out a patience before the real test.
    /// Off by default.
    pub fn let_first_go(mut self) -> Self {
        self.first_goes = true;
        self
    }

    /// Holds only requests with one of these methods; the others are
    /// answered at once. Every method is held by default.
    pub fn methods(mut self, methods: &'static [&'static str]) -> Self {
        self.methods = Some(methods);
        self
    }

    /// Once one request has waited its patience in vain, no later one of its
    /// method waits, so an implementation that sends one at a time fails
    /// after one patience, not one per request. Off by default: each
    /// request waits its own patience.
    pub fn give_up_after_one_wait(mut self) -> Self {
        self.give_up = true;
        self
    }

    /// Starts serving on 127.0.0.1; `answer(request)` is each request's
    /// answer, once it is let go.
    pub fn start(
        self,
        answer: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> InFlightServer {
        #[derive(Default)]
        struct Flight {
            now: usize,
            gave_up: bool,
        }
        let flights: Arc<Mutex<HashMap<String, Flight>>> = Arc::default();
        let most: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let order: Arc<Mutex<Vec<String>>> = Arc::default();
        let (most2, order2) = (most.clone(), order.clone());
        let server = FaultServer::start(move |_, request| {
            let method = request.method.clone();
            let first = {
                let mut order = lock(&order2);
                let prefix = format!("{method} ");
                let first = !order.iter().any(|seen| seen.starts_with(&prefix));
                order.push(format!("{method} {}", request.target));
                first
            };
            let held = self.methods.is_none_or(|m| m.contains(&method.as_str()))
                && !(first && self.first_goes);
            if held {
                let now = {
                    let mut flights = lock(&flights);
                    let flight = flights.entry(method.clone()).or_default();
                    flight.now += 1;
                    flight.now
                };
                let mut most = lock(&most2);
                let top = most.entry(method.clone()).or_default();
                *top = (*top).max(now);
                drop(most);
                let started = Instant::now();
                loop {
                    let mut flights = lock(&flights);
                    let flight = flights.entry(method.clone()).or_default();
                    if flight.now >= self.wanted || flight.gave_up {
                        break;
                    }
                    if started.elapsed() >= self.patience {
                        flight.gave_up = self.give_up;
                        break;
                    }
                    drop(flights);
                    thread::sleep(Duration::from_millis(1));
                }
                // Let the others of this round see the full count before leaving.
                thread::sleep(Duration::from_millis(5));
                lock(&flights).entry(method).or_default().now -= 1;
            }
            answer(request)
        });
        InFlightServer {
            server,
            most,
            order,
        }
    }
}

/// A server that holds each request until `wanted` of its method are in
/// flight together, or it has waited `patience`, then answers as told. It
/// notes the most requests of each method it ever held at once, and the
/// order all requests came in.
pub struct InFlightServer {
    server: FaultServer,
    most: Arc<Mutex<HashMap<String, usize>>>,
    order: Arc<Mutex<Vec<String>>>,
}

impl InFlightServer {
    /// Holds every method, each request for its own `patience`, unless set
    /// otherwise.
    pub fn builder(wanted: usize, patience: Duration) -> InFlightBuilder {
        InFlightBuilder {
            wanted,
            patience,
            methods: None,
            give_up: false,
            first_goes: false,
        }
    }

    /// The most `method` requests ever held in flight together.
    pub fn most(&self, method: &str) -> usize {
        lock(&self.most).get(method).copied().unwrap_or(0)
    }

    /// Every request so far, in the order they came in, as `METHOD target`.
    pub fn order(&self) -> Vec<String> {
        lock(&self.order).clone()
    }

    /// The base URL to give the client.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Whole requests read so far.
    pub fn requests(&self) -> usize {
        self.server.requests()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.server.connections()
    }
}

/// A lock that a panicking test thread does not poison for the others.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
