//! The bounded window of recent events kept per user and per object, from which an alert's
//! context (the events before it by the same user or on the same object) is taken.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Bounds of the window.
#[derive(Debug, Clone, Copy)]
pub struct WindowLimits {
    /// Events kept per user and per object.
    pub per_key: usize,
    /// Events older than this (event time, before the alert's event) are not context.
    pub max_age_ns: i64,
    /// Users plus objects tracked; past this, the least recently seen are forgotten.
    pub max_keys: usize,
}

impl Default for WindowLimits {
    fn default() -> Self {
        WindowLimits { per_key: 8, max_age_ns: 10 * 60 * 1_000_000_000, max_keys: 50_000 }
    }
}

#[derive(Debug)]
struct Entry {
    id: u64,
    time_ns: i64,
    json: Arc<str>,
}

#[derive(Debug, Default)]
struct Keyed {
    entries: HashMap<Arc<str>, (u64, VecDeque<Arc<Entry>>)>,
}

impl Keyed {
    fn push(&mut self, key: &str, entry: &Arc<Entry>, per_key: usize) {
        let slot = match self.entries.get_mut(key) {
            Some(slot) => slot,
            None => self.entries.entry(Arc::from(key)).or_default(),
        };
        slot.0 = entry.id;
        if slot.1.len() == per_key {
            slot.1.pop_front();
        }
        slot.1.push_back(entry.clone());
    }

    /// Forgets the half of the keys seen longest ago.
    fn shrink(&mut self) {
        let mut seen: Vec<u64> = self.entries.values().map(|(id, _)| *id).collect();
        if seen.is_empty() {
            return;
        }
        seen.sort_unstable();
        let cut = seen[seen.len() / 2];
        self.entries.retain(|_, (id, _)| *id > cut);
    }
}

/// Recent events by user and by object.
#[derive(Debug, Default)]
pub struct EvidenceWindow {
    limits: WindowLimits,
    users: Keyed,
    objects: Keyed,
    next_id: u64,
}

impl EvidenceWindow {
    /// An empty window.
    pub fn new(limits: WindowLimits) -> EvidenceWindow {
        EvidenceWindow { limits, ..EvidenceWindow::default() }
    }

    /// Remembers an event (compact JSON) of `user` on `object`.
    pub fn observe(&mut self, user: Option<&str>, object: Option<&str>, time_ns: i64, json: Arc<str>) {
        if self.limits.per_key == 0 {
            return;
        }
        self.next_id += 1;
        let entry = Arc::new(Entry { id: self.next_id, time_ns, json });
        if let Some(user) = user {
            self.users.push(user, &entry, self.limits.per_key);
        }
        if let Some(object) = object {
            self.objects.push(object, &entry, self.limits.per_key);
        }
        if self.users.entries.len() + self.objects.entries.len() > self.limits.max_keys.max(2) {
            self.users.shrink();
            self.objects.shrink();
        }
    }

    /// The remembered events of `user` or on `object` no older than the window's age before
    /// `time_ns`, oldest first, each with why it was kept (`user`, `object`, `user+object`).
    pub fn context(
        &self,
        user: Option<&str>,
        object: Option<&str>,
        time_ns: i64,
    ) -> Vec<(&'static str, Arc<str>)> {
        let of = |keyed: &Keyed, key: Option<&str>| -> Vec<Arc<Entry>> {
            key.and_then(|k| keyed.entries.get(k))
                .map(|(_, d)| d.iter().cloned().collect())
                .unwrap_or_default()
        };
        let by_user = of(&self.users, user);
        let by_object = of(&self.objects, object);
        let mut merged: Vec<(u64, &'static str, &Arc<Entry>)> = Vec::new();
        for entry in &by_user {
            let both = by_object.iter().any(|o| o.id == entry.id);
            merged.push((entry.id, if both { "user+object" } else { "user" }, entry));
        }
        for entry in &by_object {
            if !by_user.iter().any(|u| u.id == entry.id) {
                merged.push((entry.id, "object", entry));
            }
        }
        merged.sort_by_key(|(id, _, _)| *id);
        merged
            .into_iter()
            .filter(|(_, _, e)| e.time_ns >= time_ns.saturating_sub(self.limits.max_age_ns))
            .map(|(_, why, e)| (why, e.json.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_is_by_user_or_object_bounded_and_ordered() {
        let mut window = EvidenceWindow::new(WindowLimits { per_key: 2, max_age_ns: 100, max_keys: 1000 });
        window.observe(Some("eve"), Some("pods/a"), 10, Arc::from("1"));
        window.observe(Some("bob"), Some("pods/a"), 20, Arc::from("2"));
        window.observe(Some("eve"), Some("pods/b"), 30, Arc::from("3"));
        window.observe(Some("eve"), Some("pods/a"), 40, Arc::from("4"));
        window.observe(Some("bob"), Some("pods/c"), 50, Arc::from("5"));
        let got: Vec<(&str, String)> = window
            .context(Some("eve"), Some("pods/a"), 60)
            .into_iter()
            .map(|(w, j)| (w, j.to_string()))
            .collect();
        // eve: 3, 4 (1 fell out of the per-user bound); pods/a: 2, 4.
        assert_eq!(got, [("object", "2".into()), ("user", "3".into()), ("user+object", "4".into())]);
        // Too old for an event at time 125: only 30 and 40 are within 100 ns.
        let got: Vec<String> = window
            .context(Some("eve"), Some("pods/a"), 125)
            .into_iter()
            .map(|(_, j)| j.to_string())
            .collect();
        assert_eq!(got, ["3", "4"]);
        assert!(window.context(Some("nobody"), None, 60).is_empty());
    }

    #[test]
    fn keys_are_bounded() {
        let mut window = EvidenceWindow::new(WindowLimits { per_key: 1, max_age_ns: i64::MAX, max_keys: 10 });
        for i in 0..1000 {
            window.observe(Some(&format!("user-{i}")), None, i, Arc::from("{}"));
        }
        assert!(window.users.entries.len() <= 10);
        assert_eq!(window.context(Some("user-999"), None, 1000).len(), 1);
    }
}
