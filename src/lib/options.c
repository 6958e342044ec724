/* The options structs' defaults and versions (libgit2's way: a program
 * built against an older header passes its own version, and the library
 * reads only the fields that version has). Every options struct starts
 * with its unsigned version. */
#include "internal.h"

#include <string.h>

int orx_options_version(unsigned version, unsigned newest, const char *what)
{
	if (version >= 1 && version <= newest)
		return ORX_OK;
	return orx_fail(ORX_EINVALID,
			"%s version %u is not one this library knows (1 to %u)",
			what, version, newest);
}

const void *orx_options_checked(const void *opts, const void *defaults,
				unsigned newest, const char *what)
{
	if (!opts)
		opts = defaults;
	return orx_options_version(*(const unsigned *)opts, newest, what) ==
			       ORX_OK
		       ? opts
		       : NULL;
}

/* *opts (size bytes) set to defaults when version is one this library
 * knows. */
static int init(void *opts, const void *defaults, size_t size, unsigned version,
		unsigned newest, const char *what)
{
	int rc = orx_options_version(version, newest, what);

	if (rc == ORX_OK)
		memcpy(opts, defaults, size);
	return rc;
}

int orx_open_options_init(orx_open_options *opts, unsigned version)
{
	const orx_open_options defaults = ORX_OPEN_OPTIONS_INIT;

	return init(opts, &defaults, sizeof(defaults), version,
		    ORX_OPEN_OPTIONS_VERSION, "orx_open_options");
}

int orx_save_options_init(orx_save_options *opts, unsigned version)
{
	const orx_save_options defaults = ORX_SAVE_OPTIONS_INIT;

	return init(opts, &defaults, sizeof(defaults), version,
		    ORX_SAVE_OPTIONS_VERSION, "orx_save_options");
}

int orx_check_options_init(orx_check_options *opts, unsigned version)
{
	const orx_check_options defaults = ORX_CHECK_OPTIONS_INIT;

	return init(opts, &defaults, sizeof(defaults), version,
		    ORX_CHECK_OPTIONS_VERSION, "orx_check_options");
}
