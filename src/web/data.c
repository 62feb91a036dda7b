/* The district's data over HTTP: filled in below. */
#include "web_int.h"

int ssync_web__api_data(web_req *r, const char *path, enum MHD_Result *res)
{
	(void)r;
	(void)path;
	(void)res;
	return 0;
}
