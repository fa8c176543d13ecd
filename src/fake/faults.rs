//! What a test makes the fake do instead of answering normally.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::answer::excerpt;
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

impl FakeFault {
    /// Reads a fault aimed at requests, `ROUTE:SKIP:TIMES:FAULT`, as
    /// `magicbell-jwt fake --fault` takes it: the arguments of
    /// [`FakeServer::inject_on`](crate::FakeServer::inject_on) (`route`,
    /// `skip`, `times`, `fault`), with `ROUTE` a [`FakeRoute`] by its name
    /// or `any`, `FAULT` as [`FakeFault`]'s [`FromStr`] reads it.
    ///
    /// `any` gives a route of `None`, for
    /// [`FakeServer::inject`](crate::FakeServer::inject)'s queue, which takes
    /// no `skip`: with `any`, `SKIP` must be 0. `TIMES` must be at least 1.
    ///
    /// ```
    /// use magicbell_jwt::{FakeFault, FakeRoute};
    ///
    /// let rule = FakeFault::parse_rule("discard_project_token:1:3:500")?;
    /// assert_eq!(rule, (Some(FakeRoute::DiscardProjectToken), 1, 3, FakeFault::Status(500)));
    /// let any = FakeFault::parse_rule("any:0:2:429/5")?;
    /// assert_eq!(any, (None, 0, 2, FakeFault::RetryAfter(429, 5)));
    /// assert_eq!(
    ///     FakeFault::parse_rule("any:2:1:close").unwrap_err(),
    ///     "skip is 2, but a fault for any request takes none (it queues, as FakeServer::inject); \
    ///      name a route to skip its first requests"
    /// );
    /// # Ok::<(), String>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A sentence saying what was wrong, naming the part: not four parts, an
    /// unknown route, a `SKIP` or `TIMES` that is not a whole number, 0
    /// times, a skip with `any`, or a `FAULT` its [`FromStr`] refuses.
    pub fn parse_rule(rule: &str) -> Result<(Option<FakeRoute>, usize, usize, FakeFault), String> {
        let [route, skip, times, fault] = rule.splitn(4, ':').collect::<Vec<_>>()[..] else {
            return Err(format!(
                "{:?} is not ROUTE:SKIP:TIMES:FAULT (such as discard_project_token:1:3:500)",
                excerpt(rule)
            ));
        };
        let route = match route {
            "any" => None,
            name => Some(name.parse::<FakeRoute>()?),
        };
        let count = |name: &str, value: &str| {
            value
                .parse::<usize>()
                .ok()
                .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| {
                    format!(
                        "{name} is {:?}; it must be a whole number, 0 or more",
                        excerpt(value)
                    )
                })
        };
        let (skip, times) = (count("skip", skip)?, count("times", times)?);
        let fault = fault.parse::<FakeFault>()?;
        check_rule(route, skip, times)?;
        Ok((route, skip, times, fault))
    }
}

/// Whether a fault aimed at `route` (`None`: any request) for `times`
/// requests after `skip` does something: the rule
/// [`FakeFault::parse_rule`] and the control API share.
pub(super) fn check_rule(
    route: Option<FakeRoute>,
    skip: usize,
    times: usize,
) -> Result<(), String> {
    if times == 0 {
        return Err("times is 0; it must be at least 1".to_owned());
    }
    if route.is_none() && skip > 0 {
        return Err(format!(
            "skip is {skip}, but a fault for any request takes none (it queues, as \
             FakeServer::inject); name a route to skip its first requests"
        ));
    }
    Ok(())
}

/// The status of a fault's answer, if it is one: 200 to 599.
pub(super) fn check_status(status: u64) -> Result<u16, String> {
    u16::try_from(status)
        .ok()
        .filter(|s| (200..=599).contains(s))
        .ok_or_else(|| format!("status is {status}; a fault's answer takes one from 200 to 599"))
}

/// The fault as [`FromStr`] reads it: `500`, `429/2`, `close`, `delay=300`.
impl fmt::Display for FakeFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FakeFault::Status(status) => write!(f, "{status}"),
            FakeFault::RetryAfter(status, secs) => write!(f, "{status}/{secs}"),
            FakeFault::Close => f.write_str("close"),
            FakeFault::Delay(delay) => write!(f, "delay={}", delay.as_millis()),
        }
    }
}

/// A fault as `magicbell-jwt fake --fault` takes it (and
/// [`Display`](fmt::Display) writes it): a status (`500`:
/// [`FakeFault::Status`]), a status and a `Retry-After` in seconds
/// (`429/2`: [`FakeFault::RetryAfter`]), `close` ([`FakeFault::Close`]), or
/// `delay=` and milliseconds (`delay=300`: [`FakeFault::Delay`]). A status
/// is 200 to 599.
///
/// ```
/// use std::time::Duration;
/// use magicbell_jwt::FakeFault;
///
/// assert_eq!("429/2".parse::<FakeFault>()?, FakeFault::RetryAfter(429, 2));
/// assert_eq!("delay=300".parse::<FakeFault>()?, FakeFault::Delay(Duration::from_millis(300)));
/// assert_eq!("99".parse::<FakeFault>().unwrap_err(), "status is 99; a fault's answer takes one from 200 to 599");
/// # Ok::<(), String>(())
/// ```
impl FromStr for FakeFault {
    /// What was wrong, in a sentence naming the value.
    type Err = String;

    fn from_str(s: &str) -> Result<FakeFault, String> {
        let number = |what: &str, value: &str| {
            value
                .parse::<u64>()
                .ok()
                .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| format!("{what} {:?} is not a whole number", excerpt(value)))
        };
        if s == "close" {
            return Ok(FakeFault::Close);
        }
        if let Some(ms) = s.strip_prefix("delay=") {
            let ms = number("the delay", ms)?;
            return Ok(FakeFault::Delay(Duration::from_millis(ms)));
        }
        if !s.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!(
                "{:?} is no fault: give a status (500), a status and a Retry-After in seconds \
                 (429/2), close, or delay= and milliseconds (delay=300)",
                excerpt(s)
            ));
        }
        match s.split_once('/') {
            Some((status, secs)) => Ok(FakeFault::RetryAfter(
                check_status(number("the status", status)?)?,
                number("the Retry-After", secs)?,
            )),
            None => Ok(FakeFault::Status(check_status(number("the status", s)?)?)),
        }
    }
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

    /// Removes every fault not yet used; how many `inject`s and
    /// `inject_on`s they were.
    pub(super) fn clear(&mut self) -> usize {
        let count = self.queue.len() + self.aimed.len();
        self.queue.clear();
        self.aimed.clear();
        count
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
