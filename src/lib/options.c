/* The options structs' defaults and versions (libgit2's way: a program
 * built against an older header passes its own version, and the library
 * reads only the fields that version has). */
#include "internal.h"

int orx_options_version(unsigned version, unsigned newest, const char *what)
{
	if (version >= 1 && version <= newest)
		return ORX_OK;
	return orx_fail(ORX_EINVALID,
			"%s version %u is not one this library knows (1 to %u)",
			what, version, newest);
}

int orx_open_options_init(orx_open_options *opts, unsigned version)
{
	const orx_open_options defaults = ORX_OPEN_OPTIONS_INIT;
	int rc = orx_options_version(version, ORX_OPEN_OPTIONS_VERSION,
				     "orx_open_options");

	if (rc == ORX_OK)
		*opts = defaults;
	return rc;
}

int orx_save_options_init(orx_save_options *opts, unsigned version)
{
	const orx_save_options defaults = ORX_SAVE_OPTIONS_INIT;
	int rc = orx_options_version(version, ORX_SAVE_OPTIONS_VERSION,
				     "orx_save_options");

	if (rc == ORX_OK)
		*opts = defaults;
	return rc;
}

int orx_check_options_init(orx_check_options *opts, unsigned version)
{
	const orx_check_options defaults = ORX_CHECK_OPTIONS_INIT;
	int rc = orx_options_version(version, ORX_CHECK_OPTIONS_VERSION,
				     "orx_check_options");

	if (rc == ORX_OK)
		*opts = defaults;
	return rc;
}
