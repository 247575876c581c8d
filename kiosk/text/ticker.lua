-- gatecast ticker: a scrolling text band drawn over whatever an output's mpv plays.
--
-- Loaded with --script= into the one long-running mpv of an output, so it lives
-- across playlist items: the band's position is computed from mp.get_time()
-- and the moment its text was set, never from the playing file, and an item
-- change neither resets nor pauses it. The controller feeds it with
--   script-message gatecast-ticker '<json>'
-- where the JSON is {"segments": [[{"text", "font", "bold"}...], ...],
-- "position": "top"|"bottom", "speed": px/s at 1080 lines, "height": fraction
-- of the screen, "color": "#RRGGBB", "background": "#RRGGBB", "fps": redraws
-- per second}; a message without segments removes the band. Fonts are
-- fontconfig family names; libass shapes the text with HarfBuzz.

local utils = require "mp.utils"

local band = mp.create_osd_overlay("ass-events")
band.z = 100
local probe = mp.create_osd_overlay("ass-events")
probe.hidden = true
probe.compute_bounds = true

local current_json = nil
local cfg = nil
local started = 0
local strip_width = nil
local timer = nil

local function ass_colour(hex, fallback)
    local r, g, b = string.match(hex or "", "^#(%x%x)(%x%x)(%x%x)$")
    if not r then
        return fallback
    end
    return "&H" .. b .. g .. r .. "&"
end

local function escape(text)
    text = string.gsub(text, "\\", "\\\239\187\191")
    text = string.gsub(text, "{", "\\{")
    text = string.gsub(text, "}", "\\}")
    text = string.gsub(text, "[\r\n]+", " ")
    return text
end

local function screen()
    local w, h = mp.get_osd_size()
    if not w or w <= 0 or not h or h <= 0 then
        return nil
    end
    return w, h
end

-- The strip: every language in turn, separated by a bullet, as ASS text.
local function strip_text(fs)
    local parts = {}
    for i, segment in ipairs(cfg.segments) do
        if i > 1 then
            table.insert(parts, "{\\fn" .. escape(cfg.separator_font or "Noto Sans") .. "\\b0}" .. "   \226\128\162   ")
        end
        for _, run in ipairs(segment) do
            table.insert(parts, "{\\fn" .. escape(run.font or "Noto Sans") .. "\\b" ..
                (run.bold and "1" or "0") .. "}" .. escape(run.text or ""))
        end
    end
    return table.concat(parts)
end

local function geometry(w, h)
    local band_h = math.floor(h * (cfg.height or 0.08) + 0.5)
    local y0 = 0
    if cfg.position ~= "top" then
        y0 = h - band_h
    end
    return band_h, y0, math.floor(band_h * 0.62 + 0.5)
end

local function measure(w, h)
    local band_h, y0, fs = geometry(w, h)
    probe.res_x, probe.res_y = w, h
    probe.data = "{\\an4\\pos(0," .. y0 + band_h / 2 .. ")\\fs" .. fs ..
        "\\bord0\\shad0\\q2}" .. strip_text(fs)
    local bounds = probe:update()
    if bounds and bounds.x1 and bounds.x0 then
        return bounds.x1 - bounds.x0
    end
    return nil
end

local function draw()
    if not cfg then
        return
    end
    local w, h = screen()
    if not w then
        return
    end
    if not strip_width or cfg.measured_for ~= w .. "x" .. h then
        strip_width = measure(w, h)
        cfg.measured_for = w .. "x" .. h
        if not strip_width then
            return
        end
    end
    local band_h, y0, fs = geometry(w, h)
    local speed = (cfg.speed or 120) * h / 1080
    local gap = w / 3
    local period = strip_width + gap
    local travelled = (mp.get_time() - started) * speed
    -- The first copy enters at the right edge; later copies follow one period
    -- apart, so the band is never empty once it has filled.
    local x = w - travelled
    if x < -strip_width then
        x = x + math.floor((-strip_width - x) / period + 1) * period
    end
    local fg = ass_colour(cfg.color, "&HFFFFFF&")
    local bg = ass_colour(cfg.background, "&H000000&")
    local events = {
        string.format("{\\an7\\pos(0,%d)\\bord0\\shad0\\1c%s\\p1}m 0 0 l %d 0 %d %d 0 %d{\\p0}",
            y0, bg, w, w, band_h, band_h),
    }
    local text = strip_text(fs)
    while x < w do
        table.insert(events, string.format(
            "{\\an4\\pos(%.2f,%.2f)\\fs%d\\bord0\\shad0\\q2\\1c%s\\clip(0,%d,%d,%d)}%s",
            x, y0 + band_h / 2, fs, fg, y0, w, y0 + band_h, text))
        x = x + period
    end
    band.res_x, band.res_y = w, h
    band.data = table.concat(events, "\n")
    band:update()
end

local function stop()
    if timer then
        timer:kill()
        timer = nil
    end
    cfg, strip_width, current_json = nil, nil, nil
    band:remove()
end

mp.register_script_message("gatecast-ticker", function(json)
    if json == current_json then
        return -- the same text again (an unrelated change): keep scrolling where it is
    end
    local parsed = utils.parse_json(json or "")
    if type(parsed) ~= "table" or type(parsed.segments) ~= "table" or #parsed.segments == 0 then
        stop()
        mp.msg.info("ticker cleared")
        return
    end
    cfg, strip_width, current_json = parsed, nil, json
    started = mp.get_time()
    if timer then
        timer:kill()
    end
    timer = mp.add_periodic_timer(1 / (parsed.fps or 50), draw)
    draw()
    mp.msg.info("ticker set: " .. #parsed.segments .. " language(s)")
end)

mp.observe_property("osd-dimensions", "native", function()
    strip_width = nil
    draw()
end)
