#!/usr/bin/python3
"""Reads vigildetect's detections from Python with a pad probe (the README's example; the test suite runs it).

usage: GST_PLUGIN_PATH=build/gst-plugin scripts/examples/probe.py PHOTO.jpg
Needs Debian's python3-gi, gir1.2-gstreamer-1.0 and gir1.2-gst-plugins-base-1.0 (scripts/setup.sh installs them).
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, Gst, GstVideo  # noqa: E402

found = 0


def on_buffer(pad, info):
    global found
    buf = info.get_buffer()
    i = 0
    while True:  # vigildetect numbers the detections of a frame 0, 1, 2, ... (the ROI meta id)
        roi = GstVideo.buffer_get_video_region_of_interest_meta_id(buf, i)
        if roi is None:
            break
        d = roi.get_param("detection")
        _, score = d.get_double("confidence")
        _, x_min = d.get_double("x_min")
        # keypoints are a GstValueArray, which PyGObject cannot convert; C code reads them directly
        print(f"{GLib.quark_to_string(roi.roi_type)} {score:.2f} at {roi.x},{roi.y} {roi.w}x{roi.h} "
              f"(x_min {x_min:.3f}), keypoints: {d.has_field('keypoints')}, fresh={d.get_boolean('fresh')[1]}")
        found += 1
        i += 1
    return Gst.PadProbeReturn.OK


def main():
    Gst.init(None)
    pipeline = Gst.parse_launch(
        f"filesrc location={sys.argv[1]} ! decodebin ! videoconvert ! imagefreeze num-buffers=1 ! "
        "vigildetect ! fakesink name=sink")
    pipeline.get_by_name("sink").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, on_buffer)
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if msg.type == Gst.MessageType.ERROR:
        print("error:", msg.parse_error()[0].message, file=sys.stderr)
        return 1
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main())
