//! A keyed map of live items where each item has its own signal, so an
//! update redraws what shows that item, not every item. The fleet's hosts
//! and the jobs the browser has seen are both kept in one.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;

pub struct LiveMap<K: Send + Sync + 'static, V: Send + Sync + 'static> {
    items: RwSignal<BTreeMap<K, ArcRwSignal<V>>>,
}

impl<K: Send + Sync + 'static, V: Send + Sync + 'static> Clone for LiveMap<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K: Send + Sync + 'static, V: Send + Sync + 'static> Copy for LiveMap<K, V> {}

impl<K, V> LiveMap<K, V>
where
    K: Ord + Clone + Send + Sync + 'static,
    V: PartialEq + Send + Sync + 'static,
{
    pub fn new() -> Self {
        LiveMap {
            items: RwSignal::new(BTreeMap::new()),
        }
    }

    /// Replaces the contents with a snapshot of `(key, item)` pairs.
    pub fn seed(&self, items: impl IntoIterator<Item = (K, V)>) {
        let items: Vec<(K, V)> = items.into_iter().collect();
        let keys: BTreeSet<&K> = items.iter().map(|(k, _)| k).collect();
        self.items.update(|map| map.retain(|k, _| keys.contains(k)));
        for (key, item) in items {
            self.upsert(key, item);
        }
    }

    /// Adds an item or updates it in place (no-op when nothing changed).
    pub fn upsert(&self, key: K, item: V) {
        let existing = self.items.with_untracked(|map| map.get(&key).cloned());
        match existing {
            Some(signal) => {
                if signal.with_untracked(|old| *old != item) {
                    signal.set(item);
                }
            }
            None => self.items.update(|map| {
                map.insert(key, ArcRwSignal::new(item));
            }),
        }
    }

    /// Updates an item that is present; an absent key is ignored (no-op
    /// when nothing changed).
    pub fn update<Q>(&self, key: &Q, item: V)
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let existing = self.items.with_untracked(|map| map.get(key).cloned());
        if let Some(signal) = existing {
            if signal.with_untracked(|old| *old != item) {
                signal.set(item);
            }
        }
    }

    pub fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.items.update(|map| {
            map.remove(key);
        });
    }

    /// One item's signal, if known (tracked).
    pub fn get<Q>(&self, key: &Q) -> Option<ArcRwSignal<V>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.items.with(|map| map.get(key).cloned())
    }

    /// Keys in order (tracked: re-runs when items come or go).
    pub fn keys(&self) -> Vec<K> {
        self.items.with(|map| map.keys().cloned().collect())
    }

    /// Every item's current value (tracked: re-runs on any item change).
    /// Folds every item without copying it (tracked: re-runs on any change).
    pub fn fold<A>(&self, init: A, mut f: impl FnMut(A, &K, &V) -> A) -> A {
        self.items.with(|map| {
            map.iter()
                .fold(init, |acc, (k, s)| s.with(|v| f(acc, k, v)))
        })
    }

    pub fn values(&self) -> Vec<V>
    where
        V: Clone,
    {
        self.items
            .with(|map| map.values().map(|s| s.get()).collect())
    }
}

impl<K, V> Default for LiveMap<K, V>
where
    K: Ord + Clone + Send + Sync + 'static,
    V: PartialEq + Send + Sync + 'static,
{
    fn default() -> Self {
        LiveMap::new()
    }
}
