/* A downstream C program: a shipped pattern, by name, through the C interface. */
#include "sparta/sparta_c.h"

#include <stdio.h>
#include <string.h>

int main(void) {
  const char *names[] = {"T", "L"};
  const int64_t values[] = {256, 16};
  sparta_pattern *pattern = NULL;
  if (sparta_pattern_load("strided", NULL, NULL, NULL, names, values, 2, &pattern) != 0) {
    fprintf(stderr, "%s\n", sparta_last_error());
    return 2;
  }
  char *report = NULL;
  if (sparta_pattern_check(pattern, 2, 0, 64, &report) != 0) {
    fprintf(stderr, "%s\n", sparta_last_error());
    return 2;
  }
  printf("sparta %s, strided T=256 L=16: %s\n", sparta_version(), report);
  int valid = strstr(report, "\"valid\": true") != NULL;
  sparta_string_free(report);
  /* A bad parameter: the error names the file and line. */
  const char *bad[] = {"T"};
  sparta_pattern *none = NULL;
  int failed = sparta_pattern_load("strided", NULL, NULL, NULL, bad, values, 1, &none) != 0;
  printf("without L: %s\n", failed ? sparta_last_error() : "(loaded?)");
  sparta_pattern_free(pattern);
  return valid && failed && none == NULL ? 0 : 1;
}
