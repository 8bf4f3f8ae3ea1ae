/* SPDX-License-Identifier: Apache-2.0
 * The GStreamer plugin "vigil": thin adapters over libvigil (pipeline/include/vigil/vigil.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "vigilmeta.h"

GST_ELEMENT_REGISTER_DECLARE(vigildetect);
GST_ELEMENT_REGISTER_DECLARE(vigiloverlay);
GST_ELEMENT_REGISTER_DECLARE(vigilmetapublish);

static gboolean plugin_init(GstPlugin *plugin)
{
	gboolean ok = TRUE;

	vigil_gst_meta_register();
	ok &= GST_ELEMENT_REGISTER(vigildetect, plugin);
	ok &= GST_ELEMENT_REGISTER(vigiloverlay, plugin);
	ok &= GST_ELEMENT_REGISTER(vigilmetapublish, plugin);
	return ok;
}

#ifndef PACKAGE
#define PACKAGE "vigil"
#endif

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, vigil,
		  "Vigil: face and object detection on camera frames, drawn and published as standard metadata",
		  plugin_init, VIGIL_VERSION_STRING, VIGIL_GST_LICENSE, "Vigil", "https://example.invalid/vigil")
