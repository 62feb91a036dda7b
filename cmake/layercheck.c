/* Linked with one layer of the library whole (--whole-archive) and only the
 * layers below it: if any file of the layer calls into a higher layer, this
 * program does not link (see CMakeLists.txt, docs/ARCHITECTURE.md). */
int main(void)
{
	return 0;
}
