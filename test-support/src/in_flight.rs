//! A [`FaultServer`] that holds requests until enough are in flight together, noting the most there ever were and the order they came in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{FaultServer, Reply, Request};

/// A server for a client's parallelism. A request whose method is in
/// `hold` is held until `wanted` of its method are in flight together;
/// once one has waited `patience` in vain, no later one of that method
/// waits, so a client that sends one at a time fails after one patience,
/// not one per request. Each request is then answered by `answer`.
pub struct InFlightServer {
    pub server: FaultServer,
    most: Arc<Mutex<HashMap<String, usize>>>,
    order: Arc<Mutex<Vec<String>>>,
}

#[derive(Default)]
struct Flight {
    now: usize,
    gave_up: bool,
}

impl InFlightServer {
    pub fn start(
        hold: &'static [&'static str],
        wanted: usize,
        patience: Duration,
        answer: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> InFlightServer {
        let flights: Arc<Mutex<HashMap<String, Flight>>> = Arc::default();
        let most: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let order = Arc::new(Mutex::new(Vec::new()));
        let (most2, order2) = (most.clone(), order.clone());
        let server = FaultServer::start(move |_, request| {
            let method = request.method.clone();
            lock(&order2).push(format!("{method} {}", request.target));
            if hold.contains(&method.as_str()) {
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
                    if flight.now >= wanted || flight.gave_up {
                        break;
                    }
                    if started.elapsed() >= patience {
                        flight.gave_up = true;
                        break;
                    }
                    drop(flights);
                    std::thread::sleep(Duration::from_millis(1));
                }
                // Let the others of this round see the full count before leaving.
                std::thread::sleep(Duration::from_millis(5));
                lock(&flights).entry(method.clone()).or_default().now -= 1;
            }
            answer(request)
        });
        InFlightServer {
            server,
            most,
            order,
        }
    }

    /// The most `method` requests ever in flight together.
    pub fn most(&self, method: &str) -> usize {
        lock(&self.most).get(method).copied().unwrap_or(0)
    }

    /// Each request as `METHOD TARGET`, in the order they came.
    pub fn order(&self) -> Vec<String> {
        lock(&self.order).clone()
    }
}

/// A lock whose holder never panics while holding it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
