-- gatecast ticker: a scrolling band over whatever a picture's mpv plays.
--
-- Loaded with --script= into the one long-running mpv of a picture, so it
-- lives across playlist items: the band's position is computed from
-- mp.get_time() and the moment its strip was set, never from the playing
-- file, and an item change neither resets nor pauses it.
--
-- The controller draws the band's text once (kiosk/text/ticker.py, HarfBuzz
-- shaping with the project's fonts) into a raw BGRA strip file and sends
--   script-message gatecast-ticker '<json>'
-- with {"image": path, "stride": pixels per row of the file, "width": the
-- picture width it was drawn for, "height": band height in pixels,
-- "period": text + gap in pixels, "lead": empty pixels before the first copy,
-- "speed": px/s, "position": "top"|"bottom", "fps": most moves per second}.
-- A message without "image" removes the band.
--
-- Moving the band is one overlay-add of a picture-wide window of that file
-- at a new byte offset: mpv copies one band of pixels, nothing is laid out
-- or rasterised again. Positions are whole pixels and the band is only
-- redrawn when the position changes, so a band moving 60 px/s costs at most
-- 60 redraws a second whatever `fps` is.

local utils = require "mp.utils"

local OVERLAY_ID = 0 -- the only overlay this mpv has; the band is opaque

local current_json = nil
local cfg = nil
local started = 0
local timer = nil
local shown = nil -- the last "offset y width" sent, to skip redraws that change nothing

local function screen()
    local dims = mp.get_property_native("osd-dimensions")
    if not dims or not dims.w or dims.w <= 0 or not dims.h or dims.h <= 0 then
        return nil
    end
    return dims.w, dims.h
end

-- Where in the strip the window starts after `travelled` pixels: the first
-- `lead` pixels are shown once (the text enters from the right edge), then
-- the strip repeats every `period` pixels.
local function window_start(travelled)
    local lead, period = cfg.lead, cfg.period
    if travelled < lead + period then
        return math.floor(travelled)
    end
    return lead + math.floor((travelled - lead) % period)
end

local function draw()
    if not cfg then
        return
    end
    local w, h = screen()
    if not w then
        return
    end
    local width = math.min(w, cfg.width)
    local y = 0
    if cfg.position ~= "top" then
        y = h - cfg.height
    end
    local offset = window_start((mp.get_time() - started) * cfg.speed)
    local key = offset .. " " .. y .. " " .. width
    if key == shown then
        return
    end
    local ok, err = mp.command_native({"overlay-add", OVERLAY_ID, 0, math.max(0, y), cfg.image,
        offset * 4, "bgra", width, cfg.height, cfg.stride * 4})
    if ok == nil and err then
        -- The strip file is gone or unreadable: say so once and hold the band
        -- where it is until the controller sends a new one (it resends after
        -- every change), instead of failing 50 times a second.
        mp.msg.error("ticker: overlay-add failed (" .. tostring(err) .. "); band held until a new strip")
        if timer then
            timer:kill()
            timer = nil
        end
        current_json = nil
        return
    end
    shown = key
end

local function stop()
    if timer then
        timer:kill()
        timer = nil
    end
    cfg, current_json, shown = nil, nil, nil
    mp.command_native({"overlay-remove", OVERLAY_ID})
end

local function valid(c)
    return type(c) == "table" and type(c.image) == "string" and c.image ~= ""
        and type(c.stride) == "number" and type(c.width) == "number" and type(c.height) == "number"
        and type(c.period) == "number" and c.period > 0 and type(c.lead) == "number"
        and type(c.speed) == "number" and c.width > 0 and c.height > 0 and c.stride >= c.width
end

mp.register_script_message("gatecast-ticker", function(json)
    if json == current_json then
        return -- the same band again (an unrelated change): keep scrolling where it is
    end
    local parsed = utils.parse_json(json or "")
    if not valid(parsed) then
        stop()
        mp.msg.info("ticker cleared")
        return
    end
    cfg, current_json, shown = parsed, json, nil
    started = mp.get_time()
    if timer then
        timer:kill()
    end
    -- No point in asking more often than the band moves a whole pixel.
    local rate = math.min(parsed.fps or 50, math.max(parsed.speed, 1))
    timer = mp.add_periodic_timer(1 / rate, draw)
    draw()
    mp.msg.info("ticker set: " .. parsed.image)
end)

mp.observe_property("osd-dimensions", "native", function()
    shown = nil
    draw()
end)
