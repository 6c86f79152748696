#include "broker/follow_index.h"

#include <stdlib.h>

#include "broker/topics.h"

void follow_index_free(struct follow_index *x) {
  for (size_t i = 0; i < x->nsets; i++) {
    for (size_t k = 0; k < x->sets[i].n; k++) partition_unref(x->sets[i].v[k]);
    free(x->sets[i].v);
  }
  free(x->sets);
  *x = (struct follow_index){0};
}
