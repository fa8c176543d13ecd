//! Walking a token list: `Client::project_tokens` and `user_tokens`, `Paginator`, `Pages`, and their cursor rules.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::url::{query_value, user_tokens_path};
use crate::{
    AccessToken, AccessTokenCollection, Client, Error, FetchProjectTokensParams, FetchTokensParams,
};

/// An iterator over every token of a list, fetching pages lazily.
///
/// Made by [`Client::project_tokens`] and [`Client::user_tokens`]. Nothing is sent until the first call to
/// `next`; each further page is fetched only when the tokens before it are used
/// up, so a walk over any number of tokens holds one page in memory.
///
/// - Forwards (the default), the next cursor is the `starting_after` inside
///   `links.next`, or else the last token's `id`. With `ending_before` set and
///   `starting_after` unset, the walk goes backwards, using `links.prev` and
///   the first token's `id`; each page's tokens come in the server's order.
/// - The walk ends on an empty page, or when the page has `links` whose `next`
///   (backwards: `prev`) is `null` or missing. A page without `links` says
///   nothing, so the walk goes on.
/// - A page whose next cursor the walk has already used repeats a page
///   already walked: the walk ends with [`Error::RepeatedCursor`] instead of
///   yielding it, so no token is yielded twice. A page that says more
///   tokens follow but gives no cursor ends it with
///   [`Error::MissingCursor`] rather than dropping them silently. Any error
///   is yielded once, then the iterator ends.
///
/// A walk owns a clone of its [`Client`] (a reference count): it can be
/// returned from a function and moved to another thread.
///
/// ```no_run
/// use std::time::SystemTime;
/// use magicbell_jwt::{Client, FetchProjectTokensParams, Paginator};
///
/// fn project_tokens() -> Result<Paginator, magicbell_jwt::Error> {
///     let client = Client::from_env()?;
///     Ok(client.project_tokens(FetchProjectTokensParams::default().limit(100)))
/// }
///
/// let walk = project_tokens()?;
/// let expired = std::thread::spawn(move || {
///     let now = SystemTime::now();
///     let mut expired = 0;
///     for token in walk {
///         if token?.is_expired_at(now) {
///             expired += 1;
///         }
///     }
///     Ok::<_, magicbell_jwt::Error>(expired)
/// });
/// println!("{} expired tokens", expired.join().expect("the walk's thread")?);
/// # Ok::<(), magicbell_jwt::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "a Paginator sends nothing until it is iterated"]
pub struct Paginator {
    walk: Walk,
    items: std::vec::IntoIter<AccessToken>,
}

/// The same walk as [`Paginator`], a page at a time; made by
/// [`Paginator::pages`].
///
/// Yields each non-empty page as the server sent it.
///
/// ```no_run
/// # let client = magicbell_jwt::Client::new("token")?;
/// use magicbell_jwt::FetchTokensParams;
///
/// for page in client.user_tokens("user-8812", FetchTokensParams::default()).pages() {
///     let page = page?;
///     println!("{} tokens; more to come: {}", page.data.len(), page.has_more());
/// }
/// # Ok::<(), magicbell_jwt::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "Pages sends nothing until it is iterated"]
pub struct Pages {
    walk: Walk,
}

impl Client {
    /// Every project token, one page at a time as the iterator needs it.
    ///
    /// Nothing is sent until the first call to `next`. See [`Paginator`].
    ///
    /// ```no_run
    /// # let client = magicbell_jwt::Client::new("token")?;
    /// use magicbell_jwt::FetchProjectTokensParams;
    ///
    /// let live = client
    ///     .project_tokens(FetchProjectTokensParams::default().limit(100))
    ///     .filter(|t| t.as_ref().map_or(true, |t| t.discarded_at.is_none()))
    ///     .count();
    /// # Ok::<(), magicbell_jwt::Error>(())
    /// ```
    pub fn project_tokens(&self, params: FetchProjectTokensParams) -> Paginator {
        Paginator::new(self.clone(), Ok("/jwt/project".to_owned()), params)
    }

    /// Every token of one user, one page at a time as the iterator needs it.
    ///
    /// The same walk as [`Client::project_tokens`]; an empty `user_id` is the
    /// walk's one error, with nothing sent.
    pub fn user_tokens(&self, user_id: &str, params: FetchTokensParams) -> Paginator {
        Paginator::new(self.clone(), user_tokens_path(user_id), params)
    }
}

#[derive(Debug)]
struct Walk {
    // A clone: the walk owns its client, so it can be returned and moved
    // to another thread.
    client: Client,
    path: String,
    params: FetchTokensParams,
    backwards: bool,
    state: WalkState,
    // Hashes of every cursor sent, so a server cycling cursors cannot make
    // the walk loop; eight bytes a page.
    seen: HashSet<u64>,
}

#[derive(Debug)]
enum WalkState {
    Start,
    Next(String),
    Failed(Error),
    Done,
}

impl Paginator {
    /// A walk over the list at `path`; a refused path is the walk's one error.
    pub(crate) fn new(
        client: Client,
        path: Result<String, Error>,
        params: FetchTokensParams,
    ) -> Self {
        let backwards = params.ending_before.is_some() && params.starting_after.is_none();
        let (path, state) = match path {
            Ok(path) => (path, WalkState::Start),
            Err(e) => (String::new(), WalkState::Failed(e)),
        };
        Paginator {
            walk: Walk {
                client,
                path,
                params,
                backwards,
                state,
                seen: HashSet::new(),
            },
            items: Vec::new().into_iter(),
        }
    }

    /// The same walk a page at a time, from where this iterator stands
    /// (tokens of a page already started are not yielded again).
    ///
    /// ```no_run
    /// # let client = magicbell_jwt::Client::new("token")?;
    /// for page in client.project_tokens(Default::default()).pages() {
    ///     println!("{} tokens on this page", page?.data.len());
    /// }
    /// # Ok::<(), magicbell_jwt::Error>(())
    /// ```
    pub fn pages(self) -> Pages {
        Pages { walk: self.walk }
    }
}

impl Iterator for Paginator {
    type Item = Result<AccessToken, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(token) = self.items.next() {
                return Some(Ok(token));
            }
            match self.walk.next_page()? {
                Ok(page) => self.items = page.data.into_iter(),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl std::iter::FusedIterator for Paginator {}

impl Iterator for Pages {
    type Item = Result<AccessTokenCollection, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.walk.next_page()
    }
}

impl std::iter::FusedIterator for Pages {}

impl Walk {
    /// The next non-empty page, or the walk's one error, or `None` at the end.
    fn next_page(&mut self) -> Option<Result<AccessTokenCollection, Error>> {
        let params = match std::mem::replace(&mut self.state, WalkState::Done) {
            WalkState::Done => return None,
            WalkState::Failed(e) => return Some(Err(e)),
            WalkState::Start => {
                if self.params.starting_after.is_some() && self.params.ending_before.is_some() {
                    return Some(Err(Error::invalid(
                        "starting_after and ending_before are both set; a walk goes one way",
                    )));
                }
                if let Some(cursor) = self.cursor_param() {
                    self.seen.insert(hash_cursor(cursor));
                }
                self.params.clone()
            }
            WalkState::Next(cursor) => {
                let mut params = self.params.clone();
                if self.backwards {
                    params.ending_before = Some(cursor);
                } else {
                    params.starting_after = Some(cursor);
                }
                params
            }
        };
        let page = match self.client.fetch_tokens(&self.path, &params) {
            Ok(page) => page,
            Err(e) => return Some(Err(e)),
        };
        if page.data.is_empty() {
            return None;
        }
        self.state = match self.next_cursor(&page) {
            Ok(None) => WalkState::Done,
            // A page pointing at a cursor already used repeats a page already
            // walked: end with the error rather than yield it again.
            Ok(Some(cursor)) if !self.seen.insert(hash_cursor(&cursor)) => {
                return Some(Err(Error::RepeatedCursor { cursor }));
            }
            Ok(Some(cursor)) => WalkState::Next(cursor),
            Err(e) => WalkState::Failed(e),
        };
        Some(Ok(page))
    }

    fn cursor_param(&self) -> Option<&str> {
        if self.backwards {
            self.params.ending_before.as_deref()
        } else {
            self.params.starting_after.as_deref()
        }
    }

    /// The cursor for the page after `page`, or `None` when the walk is over.
    fn next_cursor(&self, page: &AccessTokenCollection) -> Result<Option<String>, Error> {
        let (name, link, edge) = if self.backwards {
            let link = page.links.as_ref().map(|l| l.prev.as_deref());
            ("ending_before", link, page.data.first())
        } else {
            let link = page.links.as_ref().map(|l| l.next.as_deref());
            ("starting_after", link, page.data.last())
        };
        let from_link = match link {
            // Links without a next (prev) link: this was the last page.
            Some(None) => return Ok(None),
            Some(Some(url)) => query_value(url, name),
            // No links at all say nothing: go on from the edge token.
            None => None,
        };
        from_link
            .or_else(|| edge.and_then(|t| t.id.clone()))
            .filter(|c| !c.is_empty())
            .map(Some)
            .ok_or(Error::MissingCursor)
    }
}

fn hash_cursor(cursor: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    cursor.hash(&mut hasher);
    hasher.finish()
}
