//! What a test makes the fake do instead of answering normally.

use std::collections::VecDeque;
use std::time::Duration;

use super::routes::FakeRoute;

/// A misbehaviour that [`FakeServer::inject`](crate::FakeServer::inject) (the
/// next requests, whatever they are) or
/// [`FakeServer::inject_on`](crate::FakeServer::inject_on) (the requests of
/// one call) makes requests meet instead of their normal answer.
///
/// A faulted request changes no state, except under [`FakeFault::Delay`],
/// which handles the request normally and only holds its answer back.
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FakeFault {
    /// Answer with this status and a MagicBell error body, whatever the
    /// request. A status outside 200 to 599 is answered as 500.
    Status(u16),
    /// Answer with this status (as [`FakeFault::Status`]) and
    /// `Retry-After: SECS`.
    RetryAfter(u16, u64),
    /// Read the request, then close the connection without answering.
    Close,
    /// Handle the request normally, then wait this long before answering.
    ///
    /// The request takes effect at once (a create mints its token, a discard
    /// revokes); its answer leaves after the delay, as with a slow network
    /// after the server acted, and only then is the request logged in
    /// [`FakeServer::requests`](crate::FakeServer::requests). A client that times out meanwhile has changed the state
    /// all the same, which is what a test of "the create timed out: was it
    /// retried into a second token?" needs. If the fake is dropped during the
    /// wait, the answer is never sent; the change stays.
    Delay(Duration),
}

/// The faults waiting for requests: [`FakeServer::inject`]'s queue, and the
/// windows [`FakeServer::inject_on`] aimed at one call each.
///
/// [`FakeServer::inject`]: crate::FakeServer::inject
/// [`FakeServer::inject_on`]: crate::FakeServer::inject_on
#[derive(Debug, Default)]
pub(super) struct Faults {
    queue: VecDeque<(usize, FakeFault)>,
    aimed: Vec<Aimed>,
}

/// The requests of `route` after the next `skip` of them meet `fault`,
/// `times` of them.
#[derive(Debug)]
struct Aimed {
    route: FakeRoute,
    skip: usize,
    times: usize,
    fault: FakeFault,
}

impl Faults {
    /// Queues `fault` for the next `times` requests, after those queued before.
    pub(super) fn inject(&mut self, times: usize, fault: FakeFault) {
        if times > 0 {
            self.queue.push_back((times, fault));
        }
    }

    /// Aims `fault` at the `times` requests of `route` after the next `skip`.
    pub(super) fn inject_on(
        &mut self,
        route: FakeRoute,
        skip: usize,
        times: usize,
        fault: FakeFault,
    ) {
        if times > 0 {
            self.aimed.push(Aimed {
                route,
                skip,
                times,
                fault,
            });
        }
    }

    /// The fault a request of `route` (`None`: no call) meets, if any: the
    /// earliest aimed window it falls in, else the queue's next. The request
    /// counts in every window aimed at its call, faulted or not.
    pub(super) fn next(&mut self, route: Option<FakeRoute>) -> Option<FakeFault> {
        let mut met = None;
        for aimed in self.aimed.iter_mut().filter(|a| Some(a.route) == route) {
            if aimed.skip > 0 {
                aimed.skip -= 1;
            } else {
                aimed.times -= 1;
                met.get_or_insert_with(|| aimed.fault.clone());
            }
        }
        self.aimed.retain(|a| a.times > 0);
        if met.is_some() {
            return met;
        }
        let (times, fault) = self.queue.front_mut()?;
        let fault = fault.clone();
        *times -= 1;
        if *times == 0 {
            self.queue.pop_front();
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: Option<FakeRoute> = Some(FakeRoute::ListProjectTokens);
    const DISCARD: Option<FakeRoute> = Some(FakeRoute::DiscardProjectToken);

    fn take(faults: &mut Faults, routes: &[Option<FakeRoute>]) -> Vec<Option<FakeFault>> {
        routes.iter().map(|r| faults.next(*r)).collect()
    }

    #[test]
    fn the_queue_is_used_in_order_by_any_request() {
        let mut faults = Faults::default();
        faults.inject(2, FakeFault::Status(500));
        faults.inject(0, FakeFault::Close);
        faults.inject(1, FakeFault::Close);
        let met = take(&mut faults, &[None, LIST, DISCARD, LIST]);
        let status = Some(FakeFault::Status(500));
        assert_eq!(met, [status.clone(), status, Some(FakeFault::Close), None]);
    }

    #[test]
    fn an_aimed_fault_skips_then_faults_only_its_call() {
        let mut faults = Faults::default();
        faults.inject_on(FakeRoute::DiscardProjectToken, 2, 2, FakeFault::Status(502));
        let routes = [
            DISCARD, LIST, DISCARD, None, DISCARD, LIST, DISCARD, DISCARD,
        ];
        let hit = Some(FakeFault::Status(502));
        assert_eq!(
            take(&mut faults, &routes),
            [None, None, None, None, hit.clone(), None, hit, None]
        );
        assert!(faults.aimed.is_empty());
    }

    #[test]
    fn an_aimed_fault_wins_over_the_queue_which_waits_for_the_next_request() {
        let mut faults = Faults::default();
        faults.inject(1, FakeFault::Close);
        faults.inject_on(FakeRoute::ListProjectTokens, 0, 1, FakeFault::Status(503));
        let met = take(&mut faults, &[LIST, LIST, LIST]);
        assert_eq!(
            met,
            [Some(FakeFault::Status(503)), Some(FakeFault::Close), None]
        );
    }

    #[test]
    fn overlapping_windows_both_count_and_the_earliest_aimed_is_met() {
        let mut faults = Faults::default();
        faults.inject_on(FakeRoute::ListProjectTokens, 1, 2, FakeFault::Status(500));
        faults.inject_on(FakeRoute::ListProjectTokens, 0, 2, FakeFault::Close);
        faults.inject_on(FakeRoute::ListProjectTokens, 0, 0, FakeFault::Status(418));
        let met = take(&mut faults, &[LIST, LIST, LIST, LIST]);
        let status = Some(FakeFault::Status(500));
        assert_eq!(met, [Some(FakeFault::Close), status.clone(), status, None]);
    }
}
