// Syntax errors in plan IR: each names what was expected, where.
// RUN: sparta-opt %s -split-input-file -verify-diagnostics

sparta.plan @p(T = 64, L = 8) {
  // expected-error @+1 {{unknown mask 'diagonal'}}
  sparta.head_plan 0 mask = diagonal(3) {
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{unknown index map 'reversed' (expected identity, strided, chunked or summary_gather)}}
    sparta.component @c dense tile = 16x16, queries = reversed, keys = identity, schedule = band<0, inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{unknown schedule 'diagonal' (expected band, prefix, grid_box or table)}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = diagonal<0>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{unknown prefix schedule 'all' (expected global_keys, summary or summary_earlier_chunks)}}
    sparta.component @c dense tile = 16x16, queries = identity, keys = identity, schedule = prefix<all>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{expected ','}}
    sparta.component @c band(0) tile = 16x16, queries = identity, keys = identity, schedule = band<0, inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{expected 'queries'}}
    sparta.component @c dense tile = 16x16, keys = identity, queries = identity, schedule = band<0, inf>
  }
}

// -----

sparta.plan @p(T = 64, L = 8) {
  sparta.head_plan 0 mask = dense {
    // expected-error @+1 {{expected 'tile'}}
    sparta.component @c dense queries = identity, keys = identity, schedule = band<0, inf>
  }
}
