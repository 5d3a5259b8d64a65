#include <dnnl.h>
/* oneDNN runs on libgomp here; its thread count is OpenMP's. */
void omp_set_num_threads(int);
int omp_get_max_threads(void);
