// Group commit of API attribute edits (decisions H12). Each edit is validated and staged under
// the writer lock, then waits. The committer thread (asynchronous edits), or the first blocking
// waiter that finds no commit running, becomes the leader: it takes every staged edit (its own and
// those that arrived while the previous commit ran), stores them in one transaction, applies them
// to the evaluator at once and wakes their requests. A store failure fails that batch and every
// edit staged behind it (they were judged against it); nothing of them is applied, so the live
// state is always what the store holds.
#include <exception>
#include <iterator>
#include <utility>

#include "tailnet_impl.hpp"

namespace postern::control {
namespace {

struct Completion {
  std::shared_ptr<AttributeBatch::Result> result;
  std::optional<Error> error;
  std::vector<std::function<void(const Done&)>> waiters;
};
using Completions = std::vector<Completion>;

AttributeBatch take(AttributeBatch& open) { return std::exchange(open, AttributeBatch{}); }

// Marks each result done (commit_mu held); returns the asynchronous waiters to tell.
std::vector<std::pair<std::function<void(const Done&)>, Done>> complete(Completions& completions) {
  std::vector<std::pair<std::function<void(const Done&)>, Done>> told;
  for (auto& c : completions) {
    c.result->done = true;
    c.result->error = c.error;
    for (auto& waiter : c.waiters) {
      told.emplace_back(std::move(waiter), c.error ? Done(*c.error) : done());
    }
  }
  return told;
}

// Runs on the commit thread, which must survive a waiter that throws (each waiter answers its
// own caller and reports its own failures).
void tell(std::vector<std::pair<std::function<void(const Done&)>, Done>>& told) {
  for (auto& [waiter, outcome] : told) {
    try {
      waiter(outcome);
    } catch (...) {  // NOLINT(bugprone-empty-catch): nothing else to tell
    }
  }
}

}  // namespace

std::shared_ptr<AttributeBatch::Result> Tailnet::Impl::join_batch(
    std::vector<sync::AttributeWrite> writes, std::vector<AttributeAudit> audits,
    const AttributeStage& edit) {
  if (!open_batch.result) {
    open_batch.id = next_batch++;
    open_batch.result = std::make_shared<AttributeBatch::Result>();
  }
  std::move(writes.begin(), writes.end(), std::back_inserter(open_batch.writes));
  std::move(audits.begin(), audits.end(), std::back_inserter(open_batch.audits));
  staged.merge(edit, open_batch.id);
  return open_batch.result;
}

// Commits the open batch as the leader; returns the results to complete.
static Completions commit_open_batch(Tailnet::Impl& impl, store::Store* store) {
  AttributeBatch batch;
  {
    std::lock_guard lock(impl.writer);
    batch = take(impl.open_batch);
  }
  if (!batch.result) return {};
  std::optional<Error> failure;
  try {
    if (store != nullptr) {
      const auto events = attribute_audit_events(batch.audits);
      if (auto written = store->write_attributes(batch.writes, events); !written) {
        failure = from_sync(written.error());
      }
    }
  } catch (const std::exception& e) {  // every waiter must be woken, whatever happens
    failure = Error{ErrorKind::Unavailable,
                    grammar::DiagCode::K820,
                    std::string("cannot store the attributes: ") + e.what(),
                    {}};
  }
  Completions completions;
  completions.push_back(Completion{batch.result, failure, std::move(batch.waiters)});
  std::lock_guard lock(impl.writer);
  if (!failure) {
    impl.publish(batch.writes);
    impl.staged.settle(batch.id);
    return completions;
  }
  // Edits staged behind the failed batch were validated against it: they fail with it.
  if (auto behind = take(impl.open_batch); behind.result) {
    completions.push_back(Completion{behind.result, failure, std::move(behind.waiters)});
  }
  impl.staged.clear();
  return completions;
}

void Tailnet::Impl::lead_commit(std::unique_lock<std::mutex>& lock) {
  leading = true;
  lock.unlock();
  auto completions = commit_open_batch(*this, self.store_.get());
  lock.lock();
  leading = false;
  auto told = complete(completions);
  batch_done.notify_all();  // blocking callers whose batch this was, or who may lead next
  work.notify_one();        // the committer thread may be waiting for this commit to end
  lock.unlock();
  tell(told);
  lock.lock();
}

Done Tailnet::Impl::await_batch(const std::shared_ptr<AttributeBatch::Result>& result) {
  std::unique_lock lock(commit_mu);
  while (!result->done) {
    if (leading) {
      batch_done.wait(lock);
    } else {
      lead_commit(lock);
    }
  }
  if (result->error) return *result->error;
  return done();
}

void Tailnet::Impl::request_commit() {
  std::lock_guard lock(commit_mu);
  work_pending = true;
  if (!committer.joinable() && !committer_stop) {
    committer = std::thread([this] {
      std::unique_lock held(commit_mu);
      while (true) {
        if (leading || (!work_pending && !committer_stop)) {
          // Woken by request_commit, by a finished commit, or by stop_committer.
          work.wait(held);
          continue;
        }
        if (!work_pending) return;  // stopping with nothing left
        work_pending = false;
        lead_commit(held);
      }
    });
  }
  work.notify_one();
}

void Tailnet::Impl::stop_committer() {
  {
    std::lock_guard lock(commit_mu);
    committer_stop = true;
  }
  work.notify_one();
  if (committer.joinable()) committer.join();
}

}  // namespace postern::control
