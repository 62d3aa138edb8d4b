// Every plan verifier diagnostic (ops and attributes), at the offending
// op or attribute.
// RUN: sparta-opt %s -split-input-file -verify-diagnostics

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{tile must be two positive sizes (query x key positions)}}
    sparta.component @c dense tile = 16x0, queries = identity, keys = identity, schedule = band<0, inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{tile must be two positive sizes (query x key positions)}}
    sparta.component @c dense tile = 16x16x16, queries = identity, keys = identity, schedule = band<0, inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = stride(8) {
    // expected-error @+1 {{a packed group of 32 positions does not fit one tile}}
    sparta.component @c stride(8) tile = 16x16, queries = strided<8, pack = 4>, keys = strided<8, pack = 4>, schedule = band<0, inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = stride(8) {
    // expected-error @+1 {{packed maps need equal query and key maps and a band schedule without rows_below}}
    sparta.component @c stride(8) tile = 16x16, queries = strided<8, pack = 2>, keys = chunked<16>, schedule = band<0, inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = stride(8) {
    // expected-error @+1 {{packed maps need equal query and key maps and a band schedule without rows_below}}
    sparta.component @c stride(8) tile = 16x16, queries = strided<8, pack = 2>, keys = strided<8, pack = 2>, schedule = band<0, inf, rows_below = 8>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = stride(8) {
    // expected-error @+1 {{index map 'strided': pack must be at least 1 (and 1 for summary_gather), got 0}}
    sparta.component @c stride(8) tile = 16x16, queries = strided<8, pack = 0>, keys = strided<8>, schedule = band<0, inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = global_keys(2) {
    // expected-error @+1 {{prefix schedule: skip_period must be 0 or at least 2, and only for global_keys, got 1}}
    sparta.component @c global_keys(2) tile = 16x16, queries = identity, keys = identity, schedule = prefix<global_keys, count = 2, offset = 0, skip_period = 1>
  }
}

// -----

// expected-error @+1 {{must have parameter 'T' (the sequence length)}}
sparta.plan @p(L = 8) {
  sparta.head_plan 0 mask = dense {
  }
}

// -----

// expected-error @+1 {{sequence length T must be in [1, 268435456], got T = 0}}
sparta.plan @p(T = 0, L = 8) {
  sparta.head_plan 0 mask = dense {
  }
}

// -----

// expected-error @+1 {{duplicate parameter 'L'}}
sparta.plan @p(T = 64, L = 8, L = 9) {
  sparta.head_plan 0 mask = dense {
  }
}

// -----

// expected-error @+1 {{has 2 parameter names but 1 values}}
"sparta.plan"() <{param_names = ["T", "L"], param_values = array<i64: 64>, sym_name = "p"}> ({
  sparta.head_plan 0 mask = dense {
  }
}) : () -> ()

// -----

// expected-error @+1 {{must plan at least one head mask}}
sparta.plan @p(T = 64, L = 8) {
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
  }
  // expected-error @+1 {{mask index 2 is outside [0, 2): head indices must be dense}}
  sparta.head_plan 2 mask = dense {
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
  }
  // expected-error @+1 {{duplicate mask index 0}}
  sparta.head_plan 0 mask = dense {
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  // expected-error @+1 {{mask index -1 is outside [0, 1)}}
  sparta.head_plan -1 mask = dense {
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{query map has 1 groups but key map has 8 (query group g meets only key group g)}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = strided<8>, schedule = band<0, inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{band rows_below = 65 exceeds T = 64}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = band<0, inf, rows_below = 65>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{prefix schedules need the identity query map}}
    sparta.component @c summary(8, 2) tile = 16x16, queries = chunked<64>, keys = summary_gather<8, 2>, schedule = prefix<summary>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{prefix<global_keys> needs the identity key map}}
    sparta.component @c global_keys(2) tile = 16x16, queries = identity, keys = summary_gather<8, 2>, schedule = prefix<global_keys, count = 2, offset = 0>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{prefix<summary_earlier_chunks> needs a summary_gather key map}}
    sparta.component @c summary(8, 2) tile = 16x16, queries = identity, keys = identity, schedule = prefix<summary_earlier_chunks>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{table schedules need identity query and key maps}}
    sparta.component @c dense tile = 16x16, queries = chunked<64>, keys = chunked<64>, schedule = table<fwd_offsets = [0, 0], fwd_entries = [], bwd_offsets = [0, 0], bwd_entries = []>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{table fwd_offsets has 2 entries, expected 5 (tiles + 1)}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = table<fwd_offsets = [0, 0], fwd_entries = [], bwd_offsets = [0, 0, 0, 0, 0], bwd_entries = []>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{table bwd_offsets has 4 entries, expected 5 (tiles + 1)}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = table<fwd_offsets = [0, 0, 0, 0, 0], fwd_entries = [], bwd_offsets = [0, 0, 0, 0], bwd_entries = []>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{table fwd_entries names tile 4, outside [0, 4)}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = table<fwd_offsets = [0, 1, 1, 1, 1], fwd_entries = [9], bwd_offsets = [0, 1, 1, 1, 1], bwd_entries = [0]>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{grid does not match the index maps: expected <fwd = 4, bwd = 4>}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = band<0, inf>, grid = <fwd = 4, bwd = 5>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{band schedule: dlo must not exceed dhi, got dlo = 5 > dhi = 4}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = band<5, 4>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{band dlo = -1 < 0 (keys after the query) needs a bidirectional plan}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = band<-1, 4>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{band schedule: dhi must be at most 2^30 (write inf), got 1073741825}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = band<0, 1073741825>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{band schedule: rows_below must be at least 0, got -3}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = band<0, 4, rows_below = -3>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{prefix schedule: count must be at least 0 and offset within +-2^30, got count = -1, offset = 0}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = prefix<global_keys, count = -1, offset = 0>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{table schedule: fwd_offsets must start with 0}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = table<fwd_offsets = [1, 1, 1, 1, 1], fwd_entries = [], bwd_offsets = [0, 0, 0, 0, 0], bwd_entries = []>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{table schedule: fwd_offsets must not decrease, got 2 then 1 at index 2}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = table<fwd_offsets = [0, 2, 1, 2, 2], fwd_entries = [0, 2], bwd_offsets = [0, 2, 2, 2, 2], bwd_entries = [0, 2]>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{table schedule: bwd_offsets must end at the number of bwd_entries (1), got 0}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = table<fwd_offsets = [0, 1, 1, 1, 1], fwd_entries = [0], bwd_offsets = [0, 0, 0, 0, 0], bwd_entries = [0]>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{table schedule: fwd_entries must not be negative, got -2}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = table<fwd_offsets = [0, 1, 1, 1, 1], fwd_entries = [-2], bwd_offsets = [0, 1, 1, 1, 1], bwd_entries = [0]>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{table schedule: 1 forward entries but 2 backward entries (one list is the transpose of the other)}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = table<fwd_offsets = [0, 1, 1, 1, 1], fwd_entries = [0], bwd_offsets = [0, 2, 2, 2, 2], bwd_entries = [0, 2]>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{index map 'strided': period must be at least 1, got 0}}
    sparta.component @c dense tile = 16x16, queries = strided<0>, keys = strided<0>, schedule = band<0, inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{index map 'summary_gather': width must be in [0, period], got 9}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = summary_gather<8, 9>, schedule = prefix<summary>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{mask 'stride': period must be at least 1, got 0}}
    sparta.component @c stride(0) tile = 16x16, queries = identity, keys = identity, schedule = band<0, inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{mask 'summary': width must not exceed period, got width = 9 > period = 8}}
    sparta.component @c summary(8, 9) tile = 16x16, queries = identity, keys = identity, schedule = band<0, inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{mask 'union' needs at least one operand}}
    sparta.component @c union() tile = 16x16, queries = identity, keys = identity, schedule = band<0, inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{mask 'random_blocks': block must be at least 1, got 0}}
    sparta.component @c dense minus random_blocks(0, 2, 1) tile = 16x16, queries = identity, keys = identity, schedule = band<0, inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{mask 'global_keys': count must be at least 0, got -1}}
    sparta.component @c global_keys(-1) tile = 16x16, queries = identity, keys = identity, schedule = band<0, inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = global_keys(2) {
    // expected-error @+1 {{prefix offset = -inf < 0 (keys after the query) needs a bidirectional plan}}
    sparta.component @c global_keys(2) tile = 16x16, queries = identity, keys = identity, schedule = prefix<global_keys, count = 2, offset = -inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = stride(8, 3) {
    // expected-error @+1 {{index map 'strided': rotate must be in [0, period) and the map unpacked, got rotate = 8}}
    sparta.component @c stride(8, 3) tile = 16x16, queries = strided<8>, keys = strided<8, rotate = 8>, schedule = band<0, inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  // expected-error @+1 {{mask 'stride': offset must be below period, got offset = 8 >= period = 8}}
  sparta.head_plan 0 mask = stride(8, 8) {
  }
}

// -----

sparta.plan @p(T = 64, L = 8) bidirectional {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{band schedule: dlo must be at least -2^30 (write -inf), got -1073741825}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = band<-1073741825, 4>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) bidirectional {
  sparta.head_plan 0 mask = grid_window(16, 1, 2) {
    // expected-error @+1 {{grid_box schedules need identity query and key maps}}
    sparta.component @c grid_window(16, 1, 2) tile = 16x16, queries = chunked<16>, keys = chunked<16>, schedule = grid_box<width = 16, rows = [-1, 1], cols = [-2, 2]>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) bidirectional {
  sparta.head_plan 0 mask = grid_window(16, 1, 2) {
    // expected-error @+1 {{grid_box width = 24 does not divide T = 64 into grid rows}}
    sparta.component @c grid_window(16, 1, 2) tile = 8x8, queries = identity, keys = identity, schedule = grid_box<width = 24, rows = [-1, 1], cols = [-2, 2]>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) bidirectional {
  sparta.head_plan 0 mask = grid_window(16, 1, 2) {
    // expected-error @+1 {{grid_box width = 16 is not a multiple of the tile edges 16x32 (tiles lie inside one grid row)}}
    sparta.component @c grid_window(16, 1, 2) tile = 16x32, queries = identity, keys = identity, schedule = grid_box<width = 16, rows = [-1, 1], cols = [-2, 2]>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = grid_window(16, 1, 2) {
    // expected-error @+1 {{grid_box rows = [-1, 1] reach later rows, which needs a bidirectional plan}}
    sparta.component @c grid_window(16, 1, 2) tile = 16x16, queries = identity, keys = identity, schedule = grid_box<width = 16, rows = [-1, 1], cols = [-2, 2]>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) bidirectional {
  sparta.head_plan 0 mask = grid_window(16, 1, 2) {
    // expected-error @+1 {{grid_box schedule: rows and cols must be [lo, hi] with lo <= hi, got rows = [1, -1], cols = [-2, 2]}}
    sparta.component @c grid_window(16, 1, 2) tile = 16x16, queries = identity, keys = identity, schedule = grid_box<width = 16, rows = [1, -1], cols = [-2, 2]>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) bidirectional {
  sparta.head_plan 0 mask = grid_window(16, 1, 2) {
    // expected-error @+1 {{grid_box schedule: width must lie in [1, 2^28], got 0}}
    sparta.component @c grid_window(16, 1, 2) tile = 16x16, queries = identity, keys = identity, schedule = grid_box<width = 0, rows = [-1, 1], cols = [-2, 2]>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) bidirectional {
  sparta.head_plan 0 mask = grid_window(16, 1, 2) {
    // expected-error @+1 {{grid_box schedule: offsets must lie within +-2^28, got 268435457}}
    sparta.component @c grid_window(16, 1, 2) tile = 16x16, queries = identity, keys = identity, schedule = grid_box<width = 16, rows = [-1, 1], cols = [-2, 268435457]>
  }
}
