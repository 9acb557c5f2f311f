/* keep_modules.c: linked into the tests of the sanitizer build only.
 * dlclose does nothing, so the Vulkan loader, driver and layer stay mapped
 * until LeakSanitizer runs at exit: their leaks then carry library names
 * and lsan.supp suppresses them by library, instead of "<unknown module>"
 * stacks that would hide among the project's own. */
#include <dlfcn.h>

int dlclose(void *handle)
{
    (void)handle;
    return 0;
}
