# fuzz/link_libs.sh: the system libraries the model links outside Bazel,
# sourced by .clusterfuzzlite/build.sh and fuzz/coverage.sh (the Bazel
# build names the same libraries in third_party/).
link_libs=(-labsl_status -labsl_statusor -labsl_cord -labsl_cordz_info
           -labsl_cord_internal -labsl_cordz_functions -labsl_cordz_handle
           -labsl_strerror -labsl_str_format_internal -labsl_strings
           -labsl_strings_internal -labsl_int128 -labsl_time -labsl_time_zone
           -labsl_civil_time -labsl_raw_hash_set -labsl_hash -labsl_city
           -labsl_low_level_hash -labsl_hashtablez_sampler
           -labsl_synchronization -labsl_graphcycles_internal
           -labsl_stacktrace -labsl_symbolize -labsl_malloc_internal
           -labsl_base -labsl_raw_logging_internal -labsl_log_severity
           -labsl_spinlock_wait -labsl_throw_delegate -luring -lpthread)
