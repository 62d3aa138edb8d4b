//===- Lanes.cpp - Side streams forked from and joined into a call's stream -===//
#include "sparta/runtime/Lanes.h"

#include "sparta/Error.h"

#include <fmt/format.h>

namespace sparta::rt {

void Lanes::fork(const Stream &main, int count) {
  main_ = &main;
  count_ = count < 1 ? 1 : count;
  if (count_ == 1)
    return;
  while (int(sides_.size()) < count_ - 1)
    sides_.push_back(std::make_unique<Side>());
  forked_.record(&main);
  for (int i = 1; i < count_; ++i)
    sides_[i - 1]->stream.waitFor(forked_);
}

const Stream &Lanes::lane(int i) const {
  if (i < 0 || i >= count_ || !main_)
    throw Error(fmt::format("lane {} of a fork of {} lanes", i, count_));
  return i == 0 ? *main_ : sides_[i - 1]->stream;
}

void Lanes::join(const Stream &main) {
  for (int i = 1; i < count_; ++i) {
    Side &side = *sides_[i - 1];
    side.done.record(&side.stream);
    main.waitFor(side.done);
  }
  main_ = nullptr;
  count_ = 1;
}

} // namespace sparta::rt
